"""The front-end event endpoint and the erase view."""

import json

import pytest
from django.test import override_settings

from tests.factories import BROWSER_UA, SegmentFactory
from wagtail_segments.conf import segments_settings
from wagtail_segments.visitor.profile import VisitorProfile
from wagtail_segments.visitor.stores import _unsign

URL = "/personalisation/event/"


def post(client, body, content_type="application/json"):
    return client.post(URL, body, content_type=content_type)


def profile_of(client):
    return VisitorProfile.from_data(_unsign(client.cookies[segments_settings.COOKIE_NAME].value))


def test_an_event_is_counted(visitor):
    response = post(visitor, json.dumps({"event": "brochure-download", "count": 2}))
    assert response.status_code == 200
    assert response.json() == {"recorded": True, "event": "brochure-download", "count": 2}
    post(visitor, json.dumps({"event": "brochure-download"}))
    assert profile_of(visitor).events == {"brochure-download": 3}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("not json", "not JSON"),
        ("[]", "JSON object"),
        ('{"event": "x", "extra": 1}', "JSON object"),
        ('{"event": ""}', '"event" must be'),
        ('{"event": "<script>"}', '"event" must be'),
        ('{"event": "a", "count": 0}', '"count" must be'),
        ('{"event": "a", "count": 101}', '"count" must be'),
        ('{"event": "a", "count": true}', '"count" must be'),
        ('{"event": "a", "count": "2"}', '"count" must be'),
        ('{"count": 1}', '"event" must be'),
    ],
)
def test_malformed_events_get_a_clear_400_and_change_nothing(visitor, body, message):
    response = post(visitor, body)
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert segments_settings.COOKIE_NAME not in response.cookies


def test_oversized_body_is_413(visitor):
    response = post(visitor, json.dumps({"event": "a", "pad": "x" * 2000}))
    assert response.status_code == 413


def test_wrong_content_type_is_415(visitor):
    response = post(visitor, "event=a", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415


def test_only_post_is_allowed(visitor):
    assert visitor.get(URL).status_code == 405
    assert visitor.put(URL, "{}", content_type="application/json").status_code == 405


def test_cross_site_posts_are_refused_without_needing_a_csrf_token(pages):
    """Cached pages carry no per-visitor token; JSON-only plus Sec-Fetch-Site guard instead."""
    from django.test import Client

    client = Client(enforce_csrf_checks=True, HTTP_USER_AGENT=BROWSER_UA)
    response = client.post(URL, '{"event": "a"}', content_type="application/json")
    assert response.status_code == 200
    forged = client.post(
        URL, '{"event": "a"}', content_type="application/json", HTTP_SEC_FETCH_SITE="cross-site"
    )
    assert forged.status_code == 403
    assert "own pages" in forged.json()["error"]
    # A plain HTML form (the only cross-site POST without a preflight) is refused too.
    form = client.post(URL, "event=a", content_type="application/x-www-form-urlencoded")
    assert form.status_code == 415


@override_settings(WAGTAIL_SEGMENTS={"EVENTS_PER_MINUTE": 3})
def test_events_are_rate_limited_per_visitor(visitor):
    from django.core.cache import cache

    cache.clear()
    codes = [post(visitor, '{"event": "a"}').status_code for _ in range(5)]
    assert codes == [200, 200, 200, 429, 429]
    assert profile_of(visitor).events == {"a": 3}


def test_erase_forgets_the_visitor(visitor):
    visitor.get("/savings/")
    assert profile_of(visitor).pageviews == 1
    response = visitor.post("/personalisation/erase/")
    assert response.status_code == 200
    assert response.cookies[segments_settings.COOKIE_NAME].value == ""
    visitor.get("/savings/")
    assert profile_of(visitor).pageviews == 1 and profile_of(visitor).visits == 1


def test_events_and_attributes_apply_within_the_request(rf, db):
    from django.contrib.auth.models import AnonymousUser

    from wagtail_segments import api
    from wagtail_segments.middleware import SegmentsMiddleware

    SegmentFactory(
        slug="small-cart",
        rules=[("attribute", {"key": "cart_total", "operator": "lt", "value": "100"})],
    )
    seen = []

    def view(request):
        seen.append(api.in_segment(request, "small-cart"))
        api.set_attribute(request, "cart_total", 60)
        seen.append(api.in_segment(request, "small-cart"))
        api.set_attribute(request, "cart_total", 120)
        seen.append(api.in_segment(request, "small-cart"))
        from django.http import HttpResponse

        return HttpResponse()

    request = rf.get("/cart/", HTTP_USER_AGENT=BROWSER_UA)
    request.user = AnonymousUser()
    SegmentsMiddleware(view)(request)
    assert seen == [False, True, False]


def test_api_without_middleware_explains_the_setting(rf):
    from django.core.exceptions import ImproperlyConfigured

    from wagtail_segments import api

    with pytest.raises(ImproperlyConfigured, match="SegmentsMiddleware"):
        api.in_segment(rf.get("/"), "x")


@pytest.mark.parametrize(
    "next_url, expected_location",
    [("/savings/", "/savings/"), ("https://evil.example/", None), ("//evil.example/", None)],
)
def test_erase_form_returns_only_to_this_site(visitor, next_url, expected_location):
    visitor.get("/savings/")
    response = visitor.post("/personalisation/erase/", {"next": next_url})
    assert response.get("Location") == expected_location
    assert response.cookies[segments_settings.COOKIE_NAME].value == ""


@pytest.mark.parametrize("store", ["cookie", "cache", "database"])
def test_a_headless_visitor_keeps_one_identity(db, client, store, settings):
    """A front-end that only asks the segments endpoint keeps its visitor id and buckets."""
    from django.core.cache import cache

    from wagtail_segments import engine

    settings.WAGTAIL_SEGMENTS = {"PROFILE_STORE": store}
    cache.clear()
    engine.invalidate_definitions()
    SegmentFactory(slug="half", rules=[("random_bucket", {"percent": 50})])
    answers, cookies = [], set()
    for _visitor in range(12):
        client.cookies.clear()
        seen = [
            client.get("/personalisation/segments/", headers={"user-agent": BROWSER_UA}).json()
            for _call in range(4)
        ]
        cookies.add(client.cookies[segments_settings.COOKIE_NAME].value)
        assert all(answer == seen[0] for answer in seen)  # one identity, one bucket
        answers.append(bool(seen[0]["segments"]))
    assert len(cookies) == 12  # each visitor their own id
    assert True in answers and False in answers  # and the buckets do differ


def test_a_headless_visitor_with_no_segments_gets_no_cookie(db, client):
    from django.core.cache import cache

    from wagtail_segments import engine

    cache.clear()
    engine.invalidate_definitions()
    client.get("/personalisation/segments/", headers={"user-agent": BROWSER_UA})
    assert segments_settings.COOKIE_NAME not in client.cookies
