"""The middleware and the page-view hook: visits, scores, privacy, real time."""

from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

import pytest
import time_machine
from django.db import connection
from django.test import Client, modify_settings, override_settings
from django.test.utils import CaptureQueriesContext

from tests.factories import BOT_UA, BROWSER_UA, InterestFactory, SegmentFactory
from wagtail_segments.conf import MIDDLEWARE_PATH, segments_settings
from wagtail_segments.models import PageInterest
from wagtail_segments.visitor.profile import VisitorProfile
from wagtail_segments.visitor.stores import _unsign

START = datetime(2026, 3, 2, 9, 0, tzinfo=dt_timezone.utc)


def profile_of(client):
    cookie = client.cookies.get(segments_settings.COOKIE_NAME)
    return VisitorProfile.from_data(_unsign(cookie.value)) if cookie else None


def test_a_page_view_creates_a_signed_cookie_profile(visitor, pages):
    response = visitor.get("/savings/")
    assert response.status_code == 200
    cookie = response.cookies[segments_settings.COOKIE_NAME]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and not cookie["secure"]
    profile = profile_of(visitor)
    assert (profile.visits, profile.pageviews) == (1, 1)
    assert profile.landing_page == pages["savings"].pk


def test_secure_requests_get_a_secure_cookie(visitor, pages):
    response = visitor.get("/savings/", secure=True)
    assert response.cookies[segments_settings.COOKIE_NAME]["secure"]


def test_visit_rolls_over_after_the_idle_timeout(visitor, pages):
    with time_machine.travel(START, tick=False):
        visitor.get("/savings/?utm_campaign=Campus", HTTP_REFERER="https://news.example/story")
    with time_machine.travel(START + timedelta(minutes=29), tick=False):
        visitor.get("/investing/", HTTP_REFERER="https://other.example/")
    profile = profile_of(visitor)
    assert profile.visits == 1 and profile.pageviews == 2
    # referrer and UTM are those that started the visit, kept through it
    assert profile.referrer == "https://news.example/story"
    assert profile.utm == {"campaign": "Campus"}
    assert profile.landing_page == pages["savings"].pk

    with time_machine.travel(START + timedelta(minutes=29 + 31), tick=False):
        visitor.get("/students/")
    profile = profile_of(visitor)
    assert profile.visits == 2 and profile.pageviews == 3
    assert profile.referrer == "" and profile.utm == {}
    assert profile.landing_page == pages["students"].pk


@override_settings(WAGTAIL_SEGMENTS={"VISIT_TIMEOUT_MINUTES": 5})
def test_visit_timeout_is_a_setting(visitor, pages):
    with time_machine.travel(START, tick=False):
        visitor.get("/savings/")
    with time_machine.travel(START + timedelta(minutes=6), tick=False):
        visitor.get("/savings/")
    assert profile_of(visitor).visits == 2


def test_internal_referrer_is_not_the_visit_referrer(visitor, pages):
    visitor.get("/savings/", HTTP_REFERER="http://testserver/investing/")
    assert profile_of(visitor).referrer == ""


@pytest.fixture
def investing(pages):
    interest = InterestFactory(
        slug="investing",
        points=7,
        referrer_domains="moneyweek.example",
        utm_campaigns="ISA-season",
        page_tags="stocks",
    )
    PageInterest.objects.create(page=pages["investing"], interest=interest, points=10)
    return interest


def test_page_points_count_once_per_page_per_visit(visitor, pages, investing):
    with time_machine.travel(START, tick=False):
        for _ in range(3):
            visitor.get("/investing/")
        assert profile_of(visitor).scores == {"investing": 10}
    with time_machine.travel(START + timedelta(hours=2), tick=False):
        visitor.get("/investing/")
        assert profile_of(visitor).scores["investing"] == pytest.approx(20, abs=0.1)


def test_referrer_campaign_and_tags_give_points(visitor, pages, investing):
    pages["savings"].tags.add("Stocks")
    pages["savings"].save_revision().publish()
    with time_machine.travel(START, tick=False):
        visitor.get(
            "/students/?utm_campaign=isa-season",
            HTTP_REFERER="https://www.moneyweek.example/isa",
        )
        assert profile_of(visitor).scores == {"investing": 14}  # domain 7 + campaign 7
        visitor.get("/savings/")  # tagged "stocks"
        assert profile_of(visitor).scores == {"investing": 21}


def test_membership_changes_within_a_request_and_across_requests(rf, visitor, pages, investing):
    SegmentFactory(
        slug="investors",
        rules=[("interest_score", {"interest": "investing", "operator": "gte", "score": 10})],
    )
    first = visitor.get("/savings/")
    assert b"[investors]" not in first.content
    # the page view's own points count for the same request's membership
    second = visitor.get("/investing/")
    assert b"[investors]" in second.content
    third = visitor.get("/savings/")
    assert b"[investors]" in third.content


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_SEC_GPC": "1"},
        {"HTTP_DNT": "1"},
        {"HTTP_USER_AGENT": BOT_UA},
        {"HTTP_SEC_PURPOSE": "prefetch;prerender"},
        {"HTTP_PURPOSE": "prefetch"},
    ],
)
def test_opt_outs_bots_and_prefetches_write_nothing(visitor, pages, headers):
    response = visitor.get("/savings/", **headers)
    assert response.status_code == 200
    assert segments_settings.COOKIE_NAME not in response.cookies


def test_head_requests_write_nothing(visitor, pages):
    response = visitor.head("/savings/")
    assert segments_settings.COOKIE_NAME not in response.cookies


@override_settings(WAGTAIL_SEGMENTS={"RESPECT_GPC": False, "RESPECT_DNT": False})
def test_gpc_and_dnt_can_be_ignored_by_setting(visitor, pages):
    response = visitor.get("/savings/", HTTP_SEC_GPC="1", HTTP_DNT="1")
    assert segments_settings.COOKIE_NAME in response.cookies


def test_request_time_rules_work_without_writing(visitor, pages):
    SegmentFactory(slug="campus", rules=[("query_param", {"name": "promo", "value": ""})])
    response = visitor.get("/savings/?promo=1", HTTP_SEC_GPC="1")
    assert b"[campus]" in response.content
    assert segments_settings.COOKIE_NAME not in response.cookies


@override_settings(WAGTAIL_SEGMENTS={"CONSENT_COOKIE": "cookie_consent"})
def test_consent_cookie_gates_every_write(visitor, pages):
    assert segments_settings.COOKIE_NAME not in visitor.get("/savings/").cookies
    visitor.cookies["cookie_consent"] = "0"
    assert segments_settings.COOKIE_NAME not in visitor.get("/savings/").cookies
    visitor.cookies["cookie_consent"] = "yes"
    assert segments_settings.COOKIE_NAME in visitor.get("/savings/").cookies


def consent_from_header(request):
    return request.headers.get("X-Consent") == "granted"


@override_settings(WAGTAIL_SEGMENTS={"CONSENT_CHECK": "tests.test_tracking.consent_from_header"})
def test_consent_callable_gates_every_write(visitor, pages):
    assert segments_settings.COOKIE_NAME not in visitor.get("/savings/").cookies
    response = visitor.get("/savings/", HTTP_X_CONSENT="granted")
    assert segments_settings.COOKIE_NAME in response.cookies


def test_bots_get_default_content(visitor, pages):
    SegmentFactory(slug="everyone", rules=[("pageviews", {"operator": "gte", "count": 0})])
    assert b"[everyone]" in visitor.get("/savings/").content
    assert b"[everyone]" not in visitor.get("/savings/", HTTP_USER_AGENT=BOT_UA).content


@pytest.mark.parametrize(
    "cookie",
    [
        "garbage",
        "",
        "x" * 5000,
        "eyJfIjowfQ:1tAmpered:signature",
    ],
)
def test_unreadable_cookies_give_a_fresh_profile(visitor, pages, cookie):
    visitor.cookies[segments_settings.COOKIE_NAME] = cookie
    response = visitor.get("/savings/")
    assert response.status_code == 200
    assert profile_of(visitor).pageviews == 1


def test_tampered_and_truncated_cookies_give_a_fresh_profile(visitor, pages):
    visitor.get("/savings/")
    visitor.get("/savings/")
    good = visitor.cookies[segments_settings.COOKIE_NAME].value
    assert profile_of(visitor).pageviews == 2
    for bad in (good[:-3], good[:-1] + ("A" if good[-1] != "A" else "B"), good[: len(good) // 2]):
        visitor.cookies[segments_settings.COOKIE_NAME] = bad
        assert visitor.get("/savings/").status_code == 200
        assert profile_of(visitor).pageviews == 1


def test_old_format_cookie_gives_a_fresh_profile(visitor, pages):
    from django.core import signing

    from wagtail_segments.visitor.stores import SALT

    old = signing.dumps({"_": 0, "visits": 9}, salt=SALT, compress=True)
    visitor.cookies[segments_settings.COOKIE_NAME] = old
    visitor.get("/savings/")
    assert profile_of(visitor).visits == 1


def test_excluded_paths_are_left_alone(visitor, pages, admin_client):
    response = admin_client.get("/admin/")
    assert response.status_code == 200
    assert segments_settings.COOKIE_NAME not in response.cookies
    assert not hasattr(response.wsgi_request, "segments")


def test_a_warm_request_adds_no_query(visitor, pages, investing, django_assert_num_queries):
    """Profile, page view, scoring and membership cost no SQL with the cookie store."""
    SegmentFactory(slug="readers", rules=[("pageviews", {"count": 1})])
    SegmentFactory(
        slug="investors",
        rules=[("interest_score", {"interest": "investing", "operator": "gte", "score": 1})],
    )
    with modify_settings(MIDDLEWARE={"remove": [MIDDLEWARE_PATH]}):
        plain = Client(HTTP_USER_AGENT=BROWSER_UA)
        plain.get("/investing/")
        with CaptureQueriesContext(connection) as without_package:
            plain.get("/investing/")
        plain_queries = len(without_package.captured_queries)
    assert plain_queries > 0  # the page itself: site, page, restrictions
    visitor.get("/investing/")  # warm: definitions compiled and cached, cookie set
    with django_assert_num_queries(plain_queries):
        html = visitor.get("/investing/").content.decode()
    assert "[investors][readers]" in html
