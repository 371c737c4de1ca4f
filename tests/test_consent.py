"""Before consent nothing about the visitor is written; request-time rules still work.

What README.md and docs/how-to/privacy.md promise, in every store and cache
mode: no profile cookie, no cache entry and no row of the visitor's, and no
stats; the page still adapts to the campaign in its URL.
"""

import pytest
from django.core.cache import cache
from django.test import Client, override_settings
from pages.models import CartPage

from tests.factories import BROWSER_UA
from wagtail_segments import caching, engine
from wagtail_segments.conf import segments_settings
from wagtail_segments.models import GoalDay, SegmentDay, SiteDay, StoredProfile, VisitorDay
from wagtail_segments.stats.recording import recorder

CONSENT = "cookie_consent"
ROWS = (StoredProfile, VisitorDay, SiteDay, SegmentDay, GoalDay)


@pytest.fixture
def site(demo_site):
    cache.clear()
    engine.invalidate_definitions()


def journey(**cookies):
    """A visitor's campaign landing, pages, an event and the cart: the package cookies set."""
    client = Client(HTTP_USER_AGENT=BROWSER_UA, HTTP_HOST="localhost")
    for name, value in cookies.items():
        client.cookies[name] = value
    responses = [client.get(path) for path in ("/?utm_campaign=campus", "/", "/savings/")]
    responses.append(
        client.post("/personalisation/event/", {"event": "signup"}, content_type="application/json")
    )
    product = CartPage.objects.get().products.first()
    responses.append(client.post("/cart/", {"product": product.pk, "action": "add"}))
    responses.append(client.get("/personalisation/segments/"))
    responses.append(client.get("/personalisation/fragments/", {"path": "/savings/"}))
    assert [response.status_code for response in responses] == [200, 200, 200, 200, 302, 200, 200]
    set_cookies = {name for response in responses for name in response.cookies}
    return responses, set_cookies - {"csrftoken", "sessionid"}  # Django's, for forms and cart


@pytest.mark.parametrize("store", ["cookie", "cache", "database"])
@pytest.mark.parametrize("mode", ["private", "segments", "fragments"])
@pytest.mark.parametrize("choice", [None, "0"])
def test_nothing_of_the_visitor_is_written_before_consent(site, store, mode, choice):
    asked = {"CONSENT_COOKIE": CONSENT, "PROFILE_STORE": store, "CACHE_MODE": mode}
    cookies = {} if choice is None else {CONSENT: choice}
    with override_settings(WAGTAIL_SEGMENTS=asked):
        responses, written = journey(**cookies)
        if mode != "fragments":  # (there the blocks come from the fragment endpoint)
            # The campaign in the URL is a request-time rule: its content needs no storage.
            assert "Welcome, campus newcomer" in responses[0].content.decode()
        assert responses[3].json() == {"recorded": False, "event": "signup", "count": 1}
        # The segment-keyed cache mode's key names segments, not a visitor (docs: privacy).
        allowed = {caching.key_cookie_name()} if mode == "segments" else set()
        assert written <= allowed
        keys = set(cache._cache)
        journey(**cookies)  # another visitor the same way: no entry of theirs in the cache
        assert set(cache._cache) == keys
        recorder.flush()
    assert [model.objects.count() for model in ROWS] == [0] * len(ROWS)


@pytest.mark.parametrize("store", ["cookie", "cache", "database"])
def test_after_consent_the_profile_is_written(site, store):
    asked = {"CONSENT_COOKIE": CONSENT, "PROFILE_STORE": store}
    with override_settings(WAGTAIL_SEGMENTS=asked):
        responses, written = journey(**{CONSENT: "1"})
        assert segments_settings.COOKIE_NAME in written
        assert responses[3].json()["recorded"] is True
        recorder.flush()
    assert SiteDay.objects.get().pageviews == 5  # with the cart posted to and the fragments
    assert StoredProfile.objects.count() == (store == "database")


@override_settings(WAGTAIL_SEGMENTS={"CONSENT_COOKIE": CONSENT, "EVENTS_PER_MINUTE": 2})
def test_events_of_a_visitor_without_consent_are_not_counted_against_a_new_id(site):
    client = Client(HTTP_USER_AGENT=BROWSER_UA, HTTP_HOST="localhost")
    before = set(cache._cache)
    codes = [
        client.post(
            "/personalisation/event/", {"event": "signup"}, content_type="application/json"
        ).status_code
        for _ in range(4)
    ]
    assert codes == [200] * 4  # nothing is recorded, so nothing to limit
    assert not [key for key in set(cache._cache) - before if "events" in key]
    client.cookies[CONSENT] = "1"
    codes = [
        client.post(
            "/personalisation/event/", {"event": "signup"}, content_type="application/json"
        ).status_code
        for _ in range(4)
    ]
    assert codes == [200, 200, 429, 429]
