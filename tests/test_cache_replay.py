"""No page cache ever replays one visitor's cookie to another.

Django's cache middleware and wagtail-cache store a response together with its
``Set-Cookie`` headers; a stored copy that set a visitor's profile or id would
hand that visitor's identity to everyone served from the cache. Each cache
mode and each profile store is tried behind both, with 200 new visitors.
"""

import pickle
from collections import defaultdict

import pytest
from django.conf import settings
from django.core.cache import caches
from django.test import Client, override_settings
from django.utils.crypto import get_random_string

from tests.factories import BOT_UA, BROWSER_UA, CACHES, COUNTRIES, PAGE_CACHE
from tests.testapp.models import PersonalisedPage
from wagtail_segments.caching import key_cookie_name
from wagtail_segments.conf import segments_settings
from wagtail_segments.visitor.editors import VIEW_AS_COOKIE
from wagtail_segments.visitor.profile import VisitorProfile
from wagtail_segments.visitor.stores import _unsign

VISITORS = 200
MODES = ("private", "segments", "fragments")
STORES = ("cookie", "cache", "database")


def middleware(update, fetch):
    return [update, *settings.MIDDLEWARE, fetch]


FRONTS = {
    "django": {
        "MIDDLEWARE": middleware(
            "django.middleware.cache.UpdateCacheMiddleware",
            "django.middleware.cache.FetchFromCacheMiddleware",
        ),
        "CACHE_MIDDLEWARE_ALIAS": PAGE_CACHE,
        "CACHE_MIDDLEWARE_SECONDS": 300,
    },
    # wagtail-cache as its guide installs it. It keeps a response that sets a cookie
    # when the request carried a session or CSRF cookie (the only ones it looks at).
    "wagtail-cache": {
        "MIDDLEWARE": middleware(
            "wagtailcache.cache.UpdateCacheMiddleware",
            "wagtailcache.cache.FetchFromCacheMiddleware",
        ),
        "WAGTAIL_CACHE_BACKEND": PAGE_CACHE,
    },
}


def package_cookies():
    return {segments_settings.COOKIE_NAME, key_cookie_name(), VIEW_AS_COOKIE}


def cached_responses():
    """The responses the page cache holds (Django's cache keys, which wagtail-cache shares)."""
    entries = caches[PAGE_CACHE]._cache
    return [pickle.loads(value) for key, value in entries.items() if ".cache_page." in key]


def visitor_id(value):
    data = _unsign(value)
    return data["id"] if isinstance(data, dict) else data


@pytest.fixture
def plain_page(offer_page):  # noqa: F811 (the fixture imported above)
    page = PersonalisedPage(title="About", slug="about", body=[("text", "About the bank")])
    offer_page.get_parent().add_child(instance=page)
    return page


@pytest.mark.parametrize("front", FRONTS)
@pytest.mark.parametrize("store", STORES)
@pytest.mark.parametrize("mode", MODES)
def test_no_visitor_ever_receives_another_visitors_cookie(front, store, mode, plain_page):
    if front == "wagtail-cache":
        pytest.importorskip("wagtailcache", reason="wagtail-cache is not installed")
    segments = {"CACHE_MODE": mode, "PROFILE_STORE": store, "COUNTRY_HEADER": "CF-IPCountry"}
    owners = defaultdict(set)  # visitor id or cookie value -> the visitors who received it
    with override_settings(CACHES=CACHES, WAGTAIL_SEGMENTS=segments, **FRONTS[front]):
        caches[PAGE_CACHE].clear()
        for number in range(VISITORS):
            # Every tenth visitor is a crawler: tracked by nobody, its copies are cacheable.
            crawler = number % 10 == 9
            visitor = Client(
                HTTP_USER_AGENT=BOT_UA if crawler else BROWSER_UA,
                HTTP_CF_IPCOUNTRY=COUNTRIES[number % len(COUNTRIES)],
            )
            if number % 2:  # new to personalisation, not to the site: a form set a CSRF cookie
                visitor.cookies[settings.CSRF_COOKIE_NAME] = get_random_string(32)
            requests = [("/about/", {}), ("/offers/", {})]
            if mode == "fragments":
                requests.append(("/personalisation/fragments/", {"path": "/offers/"}))
            for path, query in requests:
                response = visitor.get(path, query)
                assert response.status_code == 200, path
                profile = response.cookies.get(segments_settings.COOKIE_NAME)
                if profile is not None and profile.value:
                    owners[profile.value].add(number)
                    owners[visitor_id(profile.value)].add(number)
        stored = cached_responses()

    shared = {value[:20]: sorted(numbers) for value, numbers in owners.items() if len(numbers) > 1}
    assert shared == {}, "visitors received another visitor's profile or id"
    people = {number for numbers in owners.values() for number in numbers}
    assert people == {number for number in range(VISITORS) if number % 10 != 9}
    assert stored, "nothing was cached: the test would prove nothing"
    assert [
        sorted(set(response.cookies) & package_cookies())
        for response in stored
        if set(response.cookies) & package_cookies()
    ] == []


def test_every_endpoint_that_writes_a_cookie_is_private(visitor, django_user_model):
    """Erasing, "view as" and events set or delete cookies too: nobody else may get those."""
    editor = Client(HTTP_USER_AGENT=BROWSER_UA)
    editor.force_login(django_user_model.objects.create_superuser("editor", "e@example.com", "pw"))
    visitor.get("/savings/")
    writes = [
        visitor.post(
            "/personalisation/event/", {"event": "signup"}, content_type="application/json"
        ),
        visitor.post("/personalisation/erase/"),
        visitor.post("/personalisation/erase/", {"next": "/savings/"}),
        editor.post("/personalisation/view-as/", {"segment": ["investors"], "next": "/"}),
        editor.post("/personalisation/view-as/", {"stop": "1", "next": "/"}),
    ]
    for response in writes:
        written = set(response.cookies) & package_cookies()
        assert written, response.request["PATH_INFO"]
        assert "private" in response["Cache-Control"], (response.request["PATH_INFO"], written)


def test_wagtail_cache_with_the_documented_settings_keeps_each_visitors_profile(plain_page):
    """docs/how-to/caching.md: its defaults hide the package's cookie and the UTM parameters."""
    pytest.importorskip("wagtailcache", reason="wagtail-cache is not installed")
    documented = {
        **FRONTS["wagtail-cache"],
        "WAGTAIL_CACHE_IGNORE_COOKIES": False,
        "WAGTAIL_CACHE_IGNORE_QS": [r"^_ga$", r"^gclid$", r"^fbclid$"],
    }
    with override_settings(CACHES=CACHES, **documented):
        caches[PAGE_CACHE].clear()
        visitor = Client(HTTP_USER_AGENT=BROWSER_UA)
        landing = visitor.get("/about/", {"utm_campaign": "spring", "gclid": "x"})
        visitor.get("/offers/")
        visitor.get("/about/")
        profile = VisitorProfile.from_data(
            _unsign(visitor.cookies[segments_settings.COOKIE_NAME].value)
        )
    assert visitor_id(landing.cookies[segments_settings.COOKIE_NAME].value) == profile.visitor_id
    assert (profile.visits, profile.pageviews, profile.utm) == (1, 3, {"campaign": "spring"})
