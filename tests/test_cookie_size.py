"""The profile cookie never passes 1 KB, whatever a visitor sends, and still loads."""

import random
import string
from contextlib import suppress
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

import pytest
import time_machine
from django.http import HttpResponse
from django.test import RequestFactory
from hypothesis import HealthCheck, given, settings, target
from hypothesis import strategies as st

from tests.factories import BROWSER_UA
from wagtail_segments import api
from wagtail_segments.conf import segments_settings
from wagtail_segments.current import visitor_state
from wagtail_segments.middleware import SegmentsMiddleware
from wagtail_segments.visitor.profile import (
    MAX_ATTRIBUTES,
    MAX_EVENTS,
    MAX_KEY_LENGTH,
    MAX_LEDGER,
    MAX_PAGE_ID,
    MAX_SCORES,
    MAX_SLUG_LENGTH,
    MAX_STICKY,
    MAX_TEXT_LENGTH,
    UTM_PARAMETERS,
    VisitorProfile,
)
from wagtail_segments.visitor.stores import MAX_PROFILE_COOKIE, CookieStore, _sign
from wagtail_segments.visitor.visits import record_once

START = datetime(2026, 3, 2, 9, 0, tzinfo=dt_timezone.utc)
PROPERTY = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def cookie_of(response):
    """The profile cookie as the browser sends it back (name=value), or None."""
    morsel = response.cookies.get(segments_settings.COOKIE_NAME)
    return f"{morsel.key}={morsel.value}" if morsel else None


def loaded(cookie):
    """The profile the cookie store reads back from ``cookie`` (None: not readable)."""
    request = RequestFactory().get("/")
    request.COOKIES[segments_settings.COOKIE_NAME] = cookie.split("=", 1)[1]
    return CookieStore().load(request)


def random_text(rng, length):
    return "".join(rng.choices(string.ascii_letters + string.digits, k=length))


# -- the reproductions of issue 15: 1,532 and 2,347 bytes before the cap --------------------


def hostile_landing(rng):
    query = {f"utm_{name}": random_text(rng, 200) for name in UTM_PARAMETERS}
    referrer = "https://elsewhere.example/" + random_text(rng, 174)  # 200 characters
    return query, referrer


def test_a_landing_with_five_long_utm_values_and_a_long_referrer(visitor, pages):
    query, referrer = hostile_landing(random.Random(15))
    response = visitor.get("/savings/", query, HTTP_REFERER=referrer)
    cookie = cookie_of(response)
    assert len(cookie) <= MAX_PROFILE_COOKIE  # 1,532 bytes before the cap
    profile = loaded(cookie)
    # Long visit text goes first, least useful first: content, term, medium.
    assert profile.utm == {
        "source": query["utm_source"],
        "campaign": query["utm_campaign"],
    }
    assert profile.referrer == referrer
    assert profile.page_view_count(pages["savings"].pk) == 1


def test_then_300_views_with_random_40_character_events(visitor, pages):
    rng = random.Random(15)
    query, referrer = hostile_landing(rng)
    visitor.get("/savings/", query, HTTP_REFERER=referrer)
    paths = ["/", "/savings/", "/investing/", "/students/"]
    for view in range(300):
        with time_machine.travel(START + timedelta(minutes=7 * view), tick=False):
            visitor.get(paths[view % 4])
            name = random_text(rng, 40)
            answer = visitor.post(
                "/personalisation/event/", {"event": name}, content_type="application/json"
            )
            assert answer.json()["recorded"] is True
    cookie = cookie_of(answer)
    assert len(cookie) <= MAX_PROFILE_COOKIE  # 2,104 bytes before the cap
    profile = loaded(cookie)
    assert profile.pageviews == 301
    assert name in profile.events  # the least recently tracked events went first
    assert {pages[slug].pk for slug in ("savings", "investing", "students")} <= set(
        profile.page_views
    )


# -- any sequence of requests through the middleware -----------------------------------------

# What a profile can keep: databases refuse NUL and lone surrogates (tests/test_storable_text.py).
storable = st.characters(exclude_categories=("Cs",), exclude_characters="\x00")
any_text = st.text(storable, max_size=2 * MAX_TEXT_LENGTH)
name = st.text(storable, min_size=1, max_size=MAX_KEY_LENGTH)
json_value = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(storable, max_size=120),
    st.lists(st.text(storable, max_size=20), max_size=6),
)
step = st.one_of(
    st.tuples(
        st.just("view"),
        st.integers(1, MAX_PAGE_ID),
        st.dictionaries(st.sampled_from(UTM_PARAMETERS), any_text, max_size=5),
        any_text,
    ),
    st.tuples(st.just("event"), name, st.integers(1, 100)),
    st.tuples(st.just("attribute"), name, json_value),
    st.tuples(
        st.just("score"),
        st.text(storable, min_size=1, max_size=MAX_SLUG_LENGTH),
        st.floats(-1000, 1000, allow_nan=False),
    ),
)


def serve(request):
    """The view of every step: what pages, the event endpoint and project code record."""
    kind, *values = request.step
    if kind == "view":
        record_once(visitor_state(request), values[0])
    elif kind == "event":
        api.track_event(request, *values)
    elif kind == "attribute":
        with suppress(ValueError):  # a value the profile cannot keep is refused, not stored
            api.set_attribute(request, *values)
    else:
        api.add_score(request, *values)
    return HttpResponse()


@PROPERTY
@given(steps=st.lists(st.tuples(st.integers(0, 3 * 24 * 60), step), min_size=1, max_size=40))
def test_no_sequence_of_requests_makes_the_cookie_pass_1_kb(pages, steps):
    middleware = SegmentsMiddleware(serve)
    cookie, moment, visitor_id, largest = None, START, None, 0
    for minutes, (kind, *values) in steps:
        moment += timedelta(minutes=minutes)
        query, referrer = {}, ""
        if kind == "view":
            query, referrer = {f"utm_{k}": v for k, v in values[1].items()}, values[2]
        request = RequestFactory().get(
            "/", query, HTTP_USER_AGENT=BROWSER_UA, HTTP_REFERER=referrer
        )
        request.step = (kind, *values)
        if cookie:
            request.COOKIES[segments_settings.COOKIE_NAME] = cookie.split("=", 1)[1]
        with time_machine.travel(moment, tick=False):
            response = middleware(request)
        cookie = cookie_of(response) or cookie
        assert cookie is None or len(cookie.encode()) <= MAX_PROFILE_COOKIE
        largest = max(largest, len(cookie or ""))
        if cookie:
            with time_machine.travel(moment, tick=False):
                profile = loaded(cookie)
            assert profile is not None
            assert visitor_id in (None, profile.visitor_id)  # the same visitor throughout
            visitor_id = profile.visitor_id
    target(float(largest))  # search towards the largest cookies


# -- any profile, however full: what no visitor can fill alone (slugs, sticky segments) -------

slug = st.text(storable, min_size=1, max_size=MAX_SLUG_LENGTH)


@PROPERTY
@given(
    utm=st.dictionaries(st.sampled_from(UTM_PARAMETERS), any_text, max_size=5),
    referrer=any_text,
    pages_viewed=st.lists(st.integers(1, MAX_PAGE_ID), max_size=40),
    scores=st.dictionaries(slug, st.floats(-1e5, 1e5, allow_nan=False), max_size=2 * MAX_SCORES),
    events=st.dictionaries(name, st.integers(1, 10**6), max_size=2 * MAX_EVENTS),
    attributes=st.dictionaries(name, st.text(storable, max_size=110), max_size=2 * MAX_ATTRIBUTES),
    sticky=st.lists(slug, max_size=2 * MAX_STICKY),
)
def test_a_full_profile_signs_within_1_kb_and_loads(
    utm, referrer, pages_viewed, scores, events, attributes, sticky
):
    profile = VisitorProfile(now=START)
    profile.start_visit(START, landing_page=7, referrer=referrer, utm=utm)
    for page in pages_viewed:
        profile.record_pageview(page, START)
    for interest, points in scores.items():
        profile.add_score(interest, points, START)
    for event, count in events.items():
        profile.track_event(event, count, START)
    for key, value in attributes.items():
        with suppress(ValueError):  # over 120 characters as JSON
            profile.set_attribute(key, value)
    for segment in sticky:
        profile.remember_sticky(segment, START.timestamp() + 86400)
    with time_machine.travel(START, tick=False):
        value = CookieStore().signed(profile)
        cookie = f"{segments_settings.COOKIE_NAME}={value}"
        assert len(cookie.encode()) <= MAX_PROFILE_COOKIE
        target(float(len(_sign(profile.to_data()))))  # search towards the largest profiles
        kept = loaded(cookie)
    assert kept.visitor_id == profile.visitor_id and kept.pageviews == len(pages_viewed)


# -- what is left out first -----------------------------------------------------------------


INTERESTS = MAX_LEDGER  # as many scores as ledger entries: each score change is in the ledger


def full_profile():
    rng = random.Random(6)
    profile = VisitorProfile(now=START)
    profile.start_visit(
        START,
        landing_page=1,
        referrer="https://elsewhere.example/" + random_text(rng, 10),  # 36 characters
        utm={"campaign": "spring", "content": random_text(rng, 120), "term": "loans"},
    )
    for page in range(1, 4):
        profile.record_pageview(page, START)
    for index in range(INTERESTS):
        profile.add_score(f"interest-{index}", index + 1, START)
    profile.track_event("signup", 1, START)
    profile.track_event("download", 1, START)
    profile.set_attribute("plan", "gold")
    profile.remember_sticky("students", START.timestamp() + 86400)
    return profile


def test_the_least_valuable_data_is_left_out_first():
    """The order VisitorProfile.trimmed_data documents, one entry at a time."""
    profile = full_profile()
    with time_machine.travel(START, tick=False):
        full_profile_data = {key: _copy(value) for key, value in profile.to_data().items()}
        removed, before = [], profile.to_data()
        for data in profile.trimmed_data():
            [changed] = [key for key in data if data[key] != before[key]]
            if changed == "u":
                [changed] = set(before["u"]) - set(data["u"])
            removed.append(changed)
            before = {key: _copy(value) for key, value in data.items()}
        assert profile.to_data() == full_profile_data  # the profile itself keeps everything
    assert removed == [
        *["g"] * MAX_LEDGER,  # the score ledger
        "content",  # a UTM value of over 40 characters
        "e",
        "e",  # events, least recently tracked first
        *["p"] * 3,  # page view counts
        *["vp"] * 3,  # pages scored in this visit
        "term",
        "r",
        "campaign",  # the rest of the visit's text
        "a",
        *["sc"] * INTERESTS,  # interest scores, weakest first
        "k",  # sticky memberships
    ]


def _copy(value):
    return value.copy() if isinstance(value, dict | list) else value


@pytest.mark.parametrize("removals", [0, 4, 6, 12])
def test_the_cookie_store_leaves_out_no_more_than_it_must(removals, monkeypatch):
    profile = full_profile()
    with time_machine.travel(START, tick=False):
        forms = [_sign(profile.to_data()), *map(_sign, profile.trimmed_data())]
        room = len(forms[removals])
        name = f"{segments_settings.COOKIE_NAME}="
        monkeypatch.setattr("wagtail_segments.visitor.stores.MAX_PROFILE_COOKIE", len(name) + room)
        response = HttpResponse()
        CookieStore().save(RequestFactory().get("/"), response, profile)
    # The first form that fits: the store stops as soon as the profile does.
    assert cookie_of(response) == name + next(form for form in forms if len(form) <= room)


def test_a_profile_that_fits_is_kept_whole():
    profile = full_profile()
    with time_machine.travel(START, tick=False):
        cookie = f"{segments_settings.COOKIE_NAME}={CookieStore().signed(profile)}"
        assert loaded(cookie).to_data() == profile.to_data()
