"""Shared caches in front of personalised pages: the segment-keyed and fragment modes."""

import json
import re
from collections import Counter

import pytest
from django.conf import settings
from django.core.cache import caches
from django.test import Client, override_settings
from wagtail.models import PageViewRestriction

from tests.factories import (
    BROWSER_UA,
    CACHES,
    COUNTRIES,
    PAGE_CACHE,
    SegmentFactory,
    make_site_with_pages,
    offer,
)
from tests.testapp.models import PersonalisedPage, PlainPage
from wagtail_segments import engine
from wagtail_segments.caching import SEGMENTS_HEADER
from wagtail_segments.models import Segment
from wagtail_segments.visitor.profile import VisitorProfile
from wagtail_segments.visitor.stores import CacheStore, _unsign

CACHE_MIDDLEWARE = [
    "django.middleware.cache.UpdateCacheMiddleware",
    *settings.MIDDLEWARE,
    "django.middleware.cache.FetchFromCacheMiddleware",
]


def shown_offer(response):
    return re.findall(r"offer-[a-z-]+", response.content.decode())


def page_cache_entries():
    return [key for key in caches[PAGE_CACHE]._cache if ".cache_page." in key]


@override_settings(
    MIDDLEWARE=CACHE_MIDDLEWARE,
    CACHES=CACHES,
    CACHE_MIDDLEWARE_ALIAS=PAGE_CACHE,
    CACHE_MIDDLEWARE_SECONDS=300,
    WAGTAIL_SEGMENTS={
        "CACHE_MODE": "segments",
        "PROFILE_STORE": "cache",
        "COUNTRY_HEADER": "CF-IPCountry",
    },
)
def test_a_shared_cache_keeps_one_copy_per_segment_combination(offer_page, renders):
    caches[PAGE_CACHE].clear()
    wrong, served = [], Counter()
    for number in range(200):
        country = COUNTRIES[number % 4] if number % 10 else None  # every tenth: no segment
        visitor = Client(HTTP_USER_AGENT=BROWSER_UA)
        if country:
            visitor.defaults["HTTP_CF_IPCOUNTRY"] = country
        expected = f"offer-for-{country.lower()}" if country else "offer-default"
        for _ in range(3):
            response = visitor.get("/offers/")
            assert response.status_code == 200
            if shown_offer(response) != [expected]:
                wrong.append((number, country, shown_offer(response)))
            served[expected] += 1
    assert wrong == []
    assert set(served) == {"offer-default", *(f"offer-for-{c.lower()}" for c in COUNTRIES)}
    # One entry per combination the page uses: each country's segment, and none.
    assert len(page_cache_entries()) == 5
    # The cache did the serving: most of the 600 requests never reached the template.
    assert renders["testapp/personalised_page.html"] < 30


@override_settings(
    MIDDLEWARE=CACHE_MIDDLEWARE,
    CACHES=CACHES,
    CACHE_MIDDLEWARE_ALIAS=PAGE_CACHE,
    WAGTAIL_SEGMENTS={
        "CACHE_MODE": "segments",
        "PROFILE_STORE": "cache",
        "COUNTRY_HEADER": "CF-IPCountry",
    },
)
def test_segment_keyed_responses_say_what_they_vary_on(offer_page):
    caches[PAGE_CACHE].clear()
    visitor = Client(HTTP_USER_AGENT=BROWSER_UA, HTTP_CF_IPCOUNTRY="FR")
    first = visitor.get("/offers/")
    # The first response sets the visitor's cookies and teaches the URL: never stored.
    assert "private" in first["Cache-Control"]
    assert "fr" not in first.cookies["wagtail_segments_key"].value  # a digest, not slugs
    second = visitor.get("/offers/")
    assert SEGMENTS_HEADER in second["Vary"]
    assert "Cookie" not in second["Vary"]
    assert "private" not in second.get("Cache-Control", "")
    assert "wagtail_segments_key" not in second.cookies  # unchanged, not set again
    # Page views on cache hits still count: three requests, three page views.
    visitor.get("/offers/")
    visitor_id = _unsign(visitor.cookies["wagtail_segments"].value)
    assert VisitorProfile.from_data(CacheStore().read(visitor_id)).pageviews == 3


@override_settings(
    MIDDLEWARE=CACHE_MIDDLEWARE,
    CACHES=CACHES,
    CACHE_MIDDLEWARE_ALIAS=PAGE_CACHE,
    WAGTAIL_SEGMENTS={"CACHE_MODE": "segments", "PROFILE_STORE": "cache"},
)
def test_pages_without_personalised_content_keep_their_headers(offer_page):
    caches[PAGE_CACHE].clear()
    # A page whose content asks about no segment (PlainPage lists the visitor's).
    offer_page.get_parent().add_child(instance=PersonalisedPage(title="About", slug="about"))
    visitor = Client(HTTP_USER_AGENT=BROWSER_UA)
    # The first view sets the visitor id cookie: that response is the visitor's alone.
    first = visitor.get("/about/")
    assert "wagtail_segments" in first.cookies
    assert "private" in first["Cache-Control"]
    response = visitor.get("/about/")
    assert response.status_code == 200
    assert not response.cookies
    assert SEGMENTS_HEADER not in response.get("Vary", "")
    assert "Cookie" not in response.get("Vary", "")
    assert "private" not in response.get("Cache-Control", "")


@pytest.mark.parametrize("mode", ["private", "segments"])
def test_a_template_listing_the_visitors_segments_depends_on_all_of_them(offer_page, mode):
    offer_page.get_parent().add_child(instance=PlainPage(title="About", slug="about"))
    visitor = Client(HTTP_USER_AGENT=BROWSER_UA, HTTP_CF_IPCOUNTRY="FR")
    config = {"CACHE_MODE": mode, "PROFILE_STORE": "cache", "COUNTRY_HEADER": "CF-IPCountry"}
    with override_settings(WAGTAIL_SEGMENTS=config):
        visitor.get("/about/")  # sets the visitor's cookies
        response = visitor.get("/about/")
    assert "[fr]" in response.content.decode()
    if mode == "private":
        assert "private" in response["Cache-Control"]
    else:  # keyed on every segment, since any of them could change the list
        assert SEGMENTS_HEADER in response["Vary"]


def test_asking_in_code_or_templates_counts_as_asking(offer_page, rf):
    from wagtail_segments import api
    from wagtail_segments.visitor.state import attach_state

    def segments_after(ask):
        request = rf.get("/", HTTP_USER_AGENT=BROWSER_UA)
        state = attach_state(request)
        ask(request)
        return state.segments.asked

    assert segments_after(lambda request: "fr" in request.segments) == {"fr"}
    assert segments_after(lambda request: api.in_segment(request, "de")) == {"de"}
    everyone = {country.lower() for country in COUNTRIES}
    assert segments_after(lambda request: list(request.segments)) == everyone
    assert segments_after(lambda request: api.get_segments(request)) == everyone
    assert segments_after(lambda request: request.segments.slugs()) == everyone


@override_settings(WAGTAIL_SEGMENTS={"CACHE_MODE": "segments", "PROFILE_STORE": "cache"})
def test_an_editors_page_is_never_for_a_shared_cache(offer_page, client, django_user_model):
    from wagtail_segments.visitor.editors import VIEW_AS_COOKIE

    editor = django_user_model.objects.create_superuser("editor", "editor@example.com", "pw")
    client.force_login(editor)
    client.defaults["HTTP_USER_AGENT"] = BROWSER_UA
    client.post("/personalisation/view-as/", {"segment": "fr", "next": "/offers/"})
    assert VIEW_AS_COOKIE in client.cookies
    for _ in range(2):  # the second view sets no cookie: private all the same
        response = client.get("/offers/")
        assert "offer-for-fr" in response.content.decode()
        assert "private" in response["Cache-Control"]


@override_settings(
    WAGTAIL_SEGMENTS={
        "CACHE_MODE": "segments",
        "PROFILE_STORE": "cache",
        "CONSENT_COOKIE": "consent",
        "COUNTRY_HEADER": "CF-IPCountry",
    }
)
def test_the_segment_key_cookie_waits_for_consent(offer_page):
    visitor = Client(HTTP_USER_AGENT=BROWSER_UA, HTTP_CF_IPCOUNTRY="FR")
    response = visitor.get("/offers/")
    assert "offer-for-fr" in response.content.decode()  # request-time rules still work
    assert not response.cookies
    visitor.cookies["consent"] = "1"
    assert "wagtail_segments_key" in visitor.get("/offers/").cookies


# -- fragments --------------------------------------------------------------------------------

FRAGMENTS = {"CACHE_MODE": "fragments", "COUNTRY_HEADER": "CF-IPCountry"}


@override_settings(WAGTAIL_SEGMENTS=FRAGMENTS)
def test_fragment_mode_serves_one_cacheable_page_with_placeholders(offer_page):
    visitor = Client(HTTP_USER_AGENT=BROWSER_UA, HTTP_CF_IPCOUNTRY="DE")
    response = visitor.get("/offers/")
    html = response.content.decode()
    assert 'data-segments-fragment="0"' in html
    assert shown_offer(response) == ["offer-default"]
    assert "js/fragments.js" in html and 'data-fragments-url="/personalisation/fragments/"' in html
    # Nothing about this visitor: no Vary, not private, no cookie.
    assert "Cookie" not in response.get("Vary", "")
    assert "private" not in response.get("Cache-Control", "")
    assert not response.cookies

    fragments = visitor.get("/personalisation/fragments/", {"path": "/offers/"})
    assert fragments.status_code == 200
    assert fragments.json() == {"fragments": ["offer-for-de"]}
    assert "no-store" in fragments["Cache-Control"]
    # The fragment request recorded the page view, once.
    profile = VisitorProfile.from_data(_unsign(fragments.cookies["wagtail_segments"].value))
    assert profile.pageviews == 1


@override_settings(WAGTAIL_SEGMENTS=FRAGMENTS)
def test_the_fragment_endpoint_keeps_privacy_and_refuses_bad_paths(offer_page):
    visitor = Client(HTTP_USER_AGENT=BROWSER_UA)
    PageViewRestriction.objects.create(page=offer_page, restriction_type=PageViewRestriction.LOGIN)
    assert visitor.get("/personalisation/fragments/", {"path": "/offers/"}).status_code == 403
    missing = visitor.get("/personalisation/fragments/", {"path": "/nowhere/"})
    assert missing.status_code == 404
    for path in ("", "offers/", "//evil.example/", "/" + "a" * 2001):
        answer = visitor.get("/personalisation/fragments/", {"path": path})
        assert answer.status_code == 400
        assert "path" in answer.json()["error"]
    offer_page.unpublish()
    assert visitor.get("/personalisation/fragments/", {"path": "/offers/"}).status_code == 404


@pytest.fixture
def landing_offers(db):
    """A page with a variant for a campaign, for a referring site and for a query parameter."""
    caches["default"].clear()
    engine.invalidate_definitions()
    rules = {
        "campus": {"type": "utm", "value": {"parameter": "campaign", "value": "campus"}},
        "partner": {"type": "referrer", "value": {"match": "domain", "value": "partner.example"}},
        "promo": {"type": "query_param", "value": {"name": "promo", "value": ""}},
    }
    for slug, rule in rules.items():
        SegmentFactory(name=slug.title(), slug=slug, rules=[rule])
    body = [("offer", {"default": "offer-default", "variants": [offer(s) for s in rules]})]
    page = PersonalisedPage(title="Offers", slug="offers", body=body)
    return make_site_with_pages()["root"].add_child(instance=page)


@pytest.mark.parametrize(
    ("landing", "expected"),
    [
        ({"search": "?utm_campaign=campus"}, "offer-for-campus"),
        ({"referrer": "https://www.partner.example/news"}, "offer-for-partner"),
        ({"search": "?promo"}, "offer-for-promo"),
        ({"search": "", "referrer": ""}, "offer-default"),
        # A referrer that names no host counts as none.
        ({"referrer": "partner.example"}, "offer-default"),
    ],
)
@override_settings(WAGTAIL_SEGMENTS=FRAGMENTS)
def test_fragments_are_chosen_with_the_landing_query_and_referrer(
    landing_offers, landing, expected
):
    visitor = Client(HTTP_USER_AGENT=BROWSER_UA)
    # The fragment request's own Referer is the page; the page's referrer comes as a field.
    fragments = visitor.get(
        "/personalisation/fragments/",
        {"path": "/offers/", **landing},
        HTTP_REFERER="http://testserver/offers/?utm_campaign=elsewhere",
    )
    assert fragments.status_code == 200
    assert fragments.json() == {"fragments": [expected]}
    # The visit starts with that landing: the next page of the visit keeps the campaign.
    profile = VisitorProfile.from_data(_unsign(fragments.cookies["wagtail_segments"].value))
    assert profile.utm == ({"campaign": "campus"} if "utm" in landing.get("search", "") else {})


@pytest.mark.parametrize(
    ("landing", "said"),
    [
        ({"search": "?q=" + "x" * 1998}, '"search" is over 2,000 characters'),
        ({"search": "utm_campaign=campus"}, "location.search"),
        ({"search": "?utm_campaign=\x00"}, '"search" contains a NUL'),
        ({"referrer": "https://partner.example/" + "x" * 1977}, '"referrer" is over'),
        ({"referrer": "https://partner.example/\x00"}, '"referrer" contains a NUL'),
    ],
)
@override_settings(WAGTAIL_SEGMENTS=FRAGMENTS)
def test_the_fragment_endpoint_refuses_a_bad_landing(landing_offers, landing, said):
    answer = Client(HTTP_USER_AGENT=BROWSER_UA).get(
        "/personalisation/fragments/", {"path": "/offers/", **landing}
    )
    assert answer.status_code == 400
    assert said in answer.json()["error"]
    assert not answer.cookies


@override_settings(WAGTAIL_SEGMENTS=FRAGMENTS)
@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_fragments_in_a_browser_fill_the_placeholders(offer_page, live_server, chromium):
    context = chromium.new_context(user_agent=BROWSER_UA, extra_http_headers={"CF-IPCountry": "GB"})
    page = context.new_page()
    page.goto(f"{live_server.url}/offers/")
    page.wait_for_function("document.body.innerText.includes('offer-for-gb')")
    assert "offer-default" not in page.inner_text("main")
    context.close()


def test_the_segments_endpoint_lists_the_visitors_segments(offer_page):
    with override_settings(WAGTAIL_SEGMENTS={"COUNTRY_HEADER": "CF-IPCountry"}):
        response = Client(HTTP_USER_AGENT=BROWSER_UA, HTTP_CF_IPCOUNTRY="US").get(
            "/personalisation/segments/"
        )
    assert response.status_code == 200
    assert response.json() == {
        "segments": [{"slug": "us", "name": "Visitors from US"}],
        "held_out": [],
    }
    assert "no-store" in response["Cache-Control"]
    Segment.objects.filter(slug="us").update(holdout_percent=100)
    engine.invalidate_definitions()
    with override_settings(WAGTAIL_SEGMENTS={"COUNTRY_HEADER": "CF-IPCountry"}):
        held = Client(HTTP_USER_AGENT=BROWSER_UA, HTTP_CF_IPCOUNTRY="US").get(
            "/personalisation/segments/"
        )
    assert json.loads(held.content) == {"segments": [], "held_out": ["us"]}
    assert Client().post("/personalisation/segments/").status_code == 405
