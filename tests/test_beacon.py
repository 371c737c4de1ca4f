"""Beacon tracking: pages write nothing, a small request from the page records its view."""

import re
from datetime import timedelta
from types import SimpleNamespace

import pytest
import time_machine
from django.conf import settings as django_settings
from django.core.cache import caches
from django.db import connection
from django.template import Context, Template
from django.test import Client, RequestFactory, modify_settings, override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from wagtail.models import PageViewRestriction

from tests.factories import (
    BOT_UA,
    BROWSER_UA,
    InterestFactory,
    SegmentFactory,
    make_site_with_pages,
)
from tests.testapp.models import PersonalisedPage
from wagtail_segments import engine
from wagtail_segments.conf import MIDDLEWARE_PATH, problems, segments_settings
from wagtail_segments.current import visitor_state
from wagtail_segments.models import PageInterest, SiteDay
from wagtail_segments.stats.recording import recorder
from wagtail_segments.visitor.stores import visitor_store

BEACON_URL = "/personalisation/beacon/"
BEACON = {"TRACKING": "beacon"}
PAGE_CACHE = "pages"


def offer(slug):
    return {"segments": [slug], "match": "any", "hide": False, "value": f"offer-for-{slug}"}


@pytest.fixture
def site(db):
    """An offers page with a variant for a campaign, a referrer and a query parameter; an
    about page that asks about no segment and gives 5 points of "study"."""
    caches["default"].clear()
    engine.invalidate_definitions()
    root = make_site_with_pages()["root"]
    rules = {
        "campus": {"type": "utm", "value": {"parameter": "campaign", "value": "campus"}},
        "partner": {"type": "referrer", "value": {"match": "domain", "value": "partner.example"}},
        "promo": {"type": "query_param", "value": {"name": "promo", "value": ""}},
    }
    for slug, rule in rules.items():
        SegmentFactory(name=slug.title(), slug=slug, rules=[rule])
    body = [("offer", {"default": "offer-default", "variants": [offer(s) for s in rules]})]
    offers = root.add_child(instance=PersonalisedPage(title="Offers", slug="offers", body=body))
    about = root.add_child(
        instance=PersonalisedPage(title="About", slug="about", body=[("text", "about-us")])
    )
    PageInterest.objects.create(page=about, interest=InterestFactory(slug="study"), points=5)
    return SimpleNamespace(root=root, offers=offers, about=about)


def new_visitor(**headers):
    return Client(**{"HTTP_USER_AGENT": BROWSER_UA, **headers})


def beacon(client, page, search="", referrer="", **extra):
    fields = {"page": page.pk, "search": search, "referrer": referrer}
    return client.post(BEACON_URL, fields, **extra)


def package_cookies(response):
    return [name for name in response.cookies if name.startswith(segments_settings.COOKIE_NAME)]


def stored_profile(client):
    """The visitor's profile as the configured store keeps it (None: none stored)."""
    request = RequestFactory().get("/")
    request.COOKIES = {name: morsel.value for name, morsel in client.cookies.items()}
    return visitor_store().load(request)


def shown_offer(response):
    return re.findall(r"offer-[a-z-]+", response.content.decode())


# -- pages write nothing -----------------------------------------------------------------------


@pytest.mark.parametrize("store", ["cookie", "cache", "database"])
@pytest.mark.parametrize("cache_mode", ["private", "segments"])
def test_pages_set_no_cookie_and_the_beacon_records_each_view(site, settings, store, cache_mode):
    settings.WAGTAIL_SEGMENTS = {**BEACON, "PROFILE_STORE": store, "CACHE_MODE": cache_mode}
    visitor = new_visitor()
    for _round in range(2):  # a new visitor, then one the beacons made known
        for page, search in ((site.offers, "?utm_campaign=campus"), (site.about, "")):
            response = visitor.get(page.url + search, HTTP_REFERER="https://partner.example/")
            assert response.status_code == 200
            assert package_cookies(response) == []
            script = f'data-beacon-url="{BEACON_URL}" data-page="{page.pk}"'
            assert script in response.content.decode()
            answer = beacon(visitor, page, search, "https://partner.example/")
            assert answer.status_code == 204
            assert "no-store" in answer["Cache-Control"]
    profile = stored_profile(visitor)
    assert (profile.visits, profile.pageviews) == (1, 4)
    assert profile.utm == {"campaign": "campus"}
    if cache_mode == "segments":  # the beacon keeps the segment-key cookie
        assert visitor.cookies[f"{segments_settings.COOKIE_NAME}_key"].value != "none"


@override_settings(WAGTAIL_SEGMENTS=BEACON)
def test_a_page_that_asks_nothing_does_no_profile_work(site):
    visitor = new_visitor()
    beacon(visitor, site.about)
    response = visitor.get("/about/")
    assert not visitor_state(response.wsgi_request).profile_loaded
    # A personalised page reads the profile and writes nothing back.
    response = visitor.get("/offers/")
    assert visitor_state(response.wsgi_request).profile_loaded
    assert package_cookies(response) == []
    with override_settings(WAGTAIL_SEGMENTS={}):  # the page's own request records its view
        assert visitor_state(visitor.get("/about/").wsgi_request).profile_loaded


# -- what the beacon records -------------------------------------------------------------------


@override_settings(WAGTAIL_SEGMENTS=BEACON)
def test_the_beacon_records_the_view_its_points_and_the_landing(site):
    visitor = new_visitor()
    visitor.get("/about/?utm_campaign=campus", HTTP_REFERER="https://news.example/story")
    assert stored_profile(visitor) is None  # the page itself recorded nothing
    # The landing context is the page's, as its script sends it, not the beacon's own URL.
    answer = visitor.post(
        f"{BEACON_URL}?utm_campaign=elsewhere",
        {
            "page": site.about.pk,
            "search": "?utm_campaign=campus",
            "referrer": "https://news.example/story",
        },
        HTTP_REFERER="http://testserver/about/?utm_campaign=elsewhere",
    )
    assert answer.status_code == 204 and answer.content == b""
    profile = stored_profile(visitor)
    assert (profile.visits, profile.pageviews, profile.landing_page) == (1, 1, site.about.pk)
    assert profile.utm == {"campaign": "campus"}
    assert profile.referrer == "https://news.example/story"
    assert profile.scores == {"study": 5.0}
    # The next page shows the campaign's variant.
    assert shown_offer(visitor.get("/offers/")) == ["offer-for-campus"]
    # Later views of the visit keep its landing; a link within the site is no referrer.
    beacon(visitor, site.about, referrer="http://testserver/offers/")
    profile = stored_profile(visitor)
    assert (profile.visits, profile.pageviews) == (1, 2)
    assert profile.scores == {"study": 5.0}  # a page gives its points once per visit
    assert profile.referrer == "https://news.example/story"
    with time_machine.travel(timezone.now() + timedelta(minutes=31)):
        beacon(visitor, site.offers, referrer="http://testserver/about/")
    profile = stored_profile(visitor)
    assert (profile.visits, profile.landing_page, profile.referrer) == (2, site.offers.pk, "")


@pytest.mark.parametrize(
    ("tracking", "expected"),
    [
        # The view is recorded before the page renders: the campaign counts at once.
        ("request", "offer-for-campus"),
        # Nothing is known of the visitor while the page renders, but its URL is.
        ("beacon", "offer-for-promo"),
    ],
)
def test_what_a_first_view_can_personalise(site, settings, tracking, expected):
    settings.WAGTAIL_SEGMENTS = {"TRACKING": tracking}
    visitor = new_visitor()
    response = visitor.get("/offers/?utm_campaign=campus&promo=1")
    assert shown_offer(response) == [expected]
    if tracking == "beacon":
        beacon(visitor, site.offers, "?utm_campaign=campus&promo=1")
        assert shown_offer(visitor.get("/offers/")) == ["offer-for-campus"]


@override_settings(WAGTAIL_SEGMENTS=BEACON)
def test_stats_count_the_beacon_not_the_page(site):
    visitor = new_visitor()
    for _ in range(3):
        visitor.get("/offers/")
    beacon(visitor, site.offers)
    recorder.flush()
    assert SiteDay.objects.get().pageviews == 1


# -- what the beacon refuses -------------------------------------------------------------------

TOO_LONG = "?q=" + "x" * 1998


@pytest.mark.parametrize(
    ("fields", "status", "said"),
    [
        ({}, 400, '"page"'),
        ({"page": "abc"}, 400, '"page"'),
        ({"page": "0"}, 400, '"page"'),
        ({"page": "-3"}, 400, '"page"'),
        ({"page": "²"}, 400, '"page"'),
        ({"page": "9" * 30}, 400, '"page"'),
        ({"page": "12\x00"}, 400, '"page"'),
        ({"page": "999999"}, 404, "No live page"),
        ({"search": TOO_LONG}, 400, '"search" is over 2,000 characters'),
        ({"search": "utm_campaign=campus"}, 400, "location.search"),
        ({"search": "?utm_campaign=cam\x00pus"}, 400, '"search" contains a NUL'),
        ({"referrer": "https://partner.example/" + "x" * 1977}, 400, '"referrer" is over'),
        ({"referrer": "https://partner.example/\x00"}, 400, '"referrer" contains a NUL'),
    ],
)
@override_settings(WAGTAIL_SEGMENTS=BEACON)
def test_the_beacon_refuses_bad_fields(site, fields, status, said):
    data = {"page": str(site.offers.pk), **fields} if fields else {}
    answer = new_visitor().post(BEACON_URL, data)
    assert answer.status_code == status
    assert said in answer.json()["error"]
    assert package_cookies(answer) == []


@override_settings(WAGTAIL_SEGMENTS=BEACON)
def test_the_beacon_takes_only_live_pages_the_visitor_may_see(site, django_user_model):
    visitor = new_visitor()
    PageViewRestriction.objects.create(page=site.root, restriction_type=PageViewRestriction.LOGIN)
    refused = beacon(visitor, site.offers)  # a page below the restricted one
    assert refused.status_code == 404 and package_cookies(refused) == []
    visitor.force_login(django_user_model.objects.create_user("reader", password="pw"))
    assert beacon(visitor, site.offers).status_code == 204
    site.offers.unpublish()
    assert beacon(visitor, site.offers).status_code == 404
    tree_root = site.root.get_parent()
    assert tree_root.live and beacon(visitor, tree_root).status_code == 404


@override_settings(WAGTAIL_SEGMENTS=BEACON)
def test_the_beacon_refuses_other_sites_other_methods_and_big_bodies(site):
    visitor = new_visitor()
    cross = beacon(visitor, site.offers, HTTP_SEC_FETCH_SITE="cross-site")
    assert cross.status_code == 403 and package_cookies(cross) == []
    assert beacon(visitor, site.offers, HTTP_SEC_FETCH_SITE="same-origin").status_code == 204
    assert visitor.get(BEACON_URL, {"page": site.offers.pk}).status_code == 405
    big = visitor.post(BEACON_URL, {"page": site.offers.pk, "padding": "x" * 17_000})
    assert big.status_code == 413
    with override_settings(WAGTAIL_SEGMENTS={}):
        off = beacon(visitor, site.offers)
        assert off.status_code == 404 and "TRACKING" in off.json()["error"]


@override_settings(WAGTAIL_SEGMENTS=BEACON, DATA_UPLOAD_MAX_NUMBER_FIELDS=10)
def test_a_search_django_would_refuse_is_refused(site):
    answer = beacon(new_visitor(), site.offers, "?" + "&".join(["a=1"] * 11))
    assert answer.status_code == 400
    assert "at most 10 parameters" in answer.json()["error"]


@pytest.mark.parametrize("referrer", ["not a url", "http://[", "javascript:alert(1)", ""])
@override_settings(WAGTAIL_SEGMENTS=BEACON)
def test_a_referrer_that_names_no_host_counts_as_none(site, referrer):
    visitor = new_visitor()
    assert beacon(visitor, site.offers, referrer=referrer).status_code == 204
    assert stored_profile(visitor).referrer == ""


# -- privacy -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "headers"),
    [
        ({"CONSENT_COOKIE": "consent"}, {}),
        ({}, {"HTTP_DNT": "1"}),
        ({}, {"HTTP_SEC_GPC": "1"}),
        ({}, {"HTTP_USER_AGENT": BOT_UA}),
    ],
)
def test_without_consent_the_beacon_stores_nothing(site, settings, setting, headers):
    settings.WAGTAIL_SEGMENTS = {**BEACON, **setting, "PROFILE_STORE": "cache"}
    answer = beacon(new_visitor(**headers), site.offers, "?utm_campaign=campus")
    assert answer.status_code == 204
    assert package_cookies(answer) == []
    assert not [key for key in caches["default"]._cache if ":profile:" in key]
    if setting:  # consent given: recorded
        consenting = new_visitor()
        consenting.cookies["consent"] = "yes"
        assert package_cookies(beacon(consenting, site.offers)) == [segments_settings.COOKIE_NAME]


# -- queries -----------------------------------------------------------------------------------


def test_beacon_tracking_adds_no_query_to_pages(site, django_assert_num_queries):
    with modify_settings(MIDDLEWARE={"remove": [MIDDLEWARE_PATH]}):
        plain = Client(HTTP_USER_AGENT=BROWSER_UA)
        plain.get("/offers/")
        with CaptureQueriesContext(connection) as without_package:
            plain.get("/offers/")
        plain_queries = len(without_package.captured_queries)  # before a request resets them
    with override_settings(WAGTAIL_SEGMENTS=BEACON):
        visitor = new_visitor()
        beacon(visitor, site.offers, "?utm_campaign=campus")
        visitor.get("/offers/")  # warm
        with django_assert_num_queries(plain_queries):
            assert shown_offer(visitor.get("/offers/")) == ["offer-for-campus"]
        # The page, its ancestors (aliases resolved), their view restrictions.
        with django_assert_num_queries(3):
            assert beacon(visitor, site.offers).status_code == 204


# -- with the cache modes ----------------------------------------------------------------------


@override_settings(
    MIDDLEWARE=[
        "django.middleware.cache.UpdateCacheMiddleware",
        *django_settings.MIDDLEWARE,
        "django.middleware.cache.FetchFromCacheMiddleware",
    ],
    CACHES={
        **django_settings.CACHES,
        PAGE_CACHE: {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "b"},
    },
    CACHE_MIDDLEWARE_ALIAS=PAGE_CACHE,
    CACHE_MIDDLEWARE_SECONDS=300,
    WAGTAIL_SEGMENTS={**BEACON, "CACHE_MODE": "segments"},  # the cookie store: no cookie on pages
)
def test_segment_keyed_pages_are_cached_with_the_cookie_store(site, renders):
    caches[PAGE_CACHE].clear()
    campus = new_visitor()
    first = campus.get("/offers/")
    assert "private" in first["Cache-Control"]  # no key cookie yet: the beacon sets it
    beacon(campus, site.offers, "?utm_campaign=campus")
    for _ in range(3):
        response = campus.get("/offers/")
        assert shown_offer(response) == ["offer-for-campus"]
        assert package_cookies(response) == []
        beacon(campus, site.offers)
    assert renders["testapp/personalised_page.html"] == 2  # then served from the cache
    # Looking the page up recorded no view: the four beacons did.
    assert stored_profile(campus).pageviews == 4
    assert shown_offer(new_visitor().get("/offers/")) == ["offer-default"]


@override_settings(WAGTAIL_SEGMENTS={**BEACON, "CACHE_MODE": "fragments"})
def test_with_fragments_the_fragment_request_records_the_view(site):
    visitor = new_visitor()
    html = visitor.get("/offers/?utm_campaign=campus").content.decode()
    assert package_cookies(visitor.get("/offers/")) == []
    # Both scripts are there; the beacon's sends nothing where placeholders are.
    assert "js/fragments.js" in html and "js/beacon.js" in html
    fragments = visitor.get(
        "/personalisation/fragments/", {"path": "/offers/", "search": "?utm_campaign=campus"}
    )
    assert fragments.json() == {"fragments": ["offer-for-campus"]}
    assert stored_profile(visitor).pageviews == 1
    # A page without placeholders is recorded by its beacon.
    beacon(visitor, site.about)
    assert stored_profile(visitor).pageviews == 2


# -- the script --------------------------------------------------------------------------------

SCRIPT = Template("{% load wagtail_segments %}{% segments_script %}")


@override_settings(WAGTAIL_SEGMENTS=BEACON)
def test_the_script_names_the_page_asked_for(site, rf):
    def rendered(**context):
        return SCRIPT.render(Context({"request": rf.get("/"), **context}))

    assert f'data-page="{site.offers.pk}"' in rendered(page=site.offers)
    assert f'data-page="{site.about.pk}"' in rendered(self=site.about)
    # An experience serves another page's content at this page's URL: its view is this page's.
    assert f'data-page="{site.offers.pk}"' in rendered(experience_of=site.offers, page=site.about)
    assert "beacon" not in rendered()  # no page: no page view
    preview = rf.get("/")
    preview.is_preview = True
    assert "beacon" not in SCRIPT.render(Context({"request": preview, "page": site.offers}))
    with override_settings(WAGTAIL_SEGMENTS={}):
        assert "beacon" not in rendered(page=site.offers)


def test_tracking_must_be_a_known_mode():
    assert problems({"TRACKING": "pixel"}) == [
        "WAGTAIL_SEGMENTS['TRACKING'] is 'pixel'; use one of 'request', 'beacon'."
    ]
    assert problems({"TRACKING": "beacon"}) == []


# -- in a browser ------------------------------------------------------------------------------


@override_settings(WAGTAIL_SEGMENTS=BEACON)
@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_page_load_sends_the_beacon_and_the_next_page_shows_the_variant(
    site, live_server, browser_page
):
    page = browser_page
    with page.expect_response(f"**{BEACON_URL}") as answer:
        first = page.goto(f"{live_server.url}/about/?utm_campaign=campus")
    assert "set-cookie" not in first.headers
    assert answer.value.status == 204
    names = [cookie["name"] for cookie in page.context.cookies()]
    assert segments_settings.COOKIE_NAME in names
    page.goto(f"{live_server.url}/offers/")
    assert page.inner_text("main") == "offer-for-campus"


@override_settings(WAGTAIL_SEGMENTS={**BEACON, "CACHE_MODE": "fragments"})
@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_fragments_keep_the_landing_referrer_in_a_browser(site, live_server, browser_page):
    page = browser_page
    sent = []
    page.on("request", lambda request: sent.append(request.url))
    page.goto(f"{live_server.url}/offers/", referer="https://partner.example/news")
    page.wait_for_function("document.body.innerText.includes('offer-for-partner')")
    assert not [url for url in sent if BEACON_URL in url]  # the fragment request recorded it
