import json
from datetime import datetime, timedelta, timezone

import pytest
import time_machine
from django.test import override_settings

from wagtail_segments.visitor.profile import (
    MAX_ATTRIBUTES,
    MAX_EVENT_DAYS,
    MAX_PAGES,
    MAX_SCORES,
    VisitorProfile,
)

START = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


def test_new_profile_is_empty_and_new():
    profile = VisitorProfile(now=START)
    assert profile.visits == 0 and profile.pageviews == 0
    assert profile.is_new
    assert profile.scores == {} and profile.events == {} and profile.attributes == {}
    assert len(profile.visitor_id) >= 16
    assert VisitorProfile().visitor_id != profile.visitor_id


def test_round_trip_keeps_everything():
    profile = VisitorProfile(now=START)
    profile.start_visit(
        START,
        landing_page=3,
        referrer="https://search.example/",
        utm={"campaign": "campus", "source": "flyer", "bogus": "x"},
    )
    profile.record_pageview(3, START)
    profile.record_pageview(7, START)
    profile.add_score("investing", 12.5, START)
    profile.track_event("download", 2, START)
    profile.set_attribute("cart_total", 42.5)
    profile.remember_sticky("students", START.timestamp() + 3600)
    with time_machine.travel(START, tick=False):
        data = json.loads(json.dumps(profile.to_data()))
        copy = VisitorProfile.from_data(data)
        assert copy.to_data() == profile.to_data()
    assert copy.utm == {"campaign": "campus", "source": "flyer"}
    assert copy.page_view_count(3) == 1 and copy.landing_page == 3
    assert copy.events == {"download": 2}
    assert copy.attributes == {"cart_total": 42.5}


@pytest.mark.parametrize(
    "data",
    [
        None,
        [],
        {"_": 0},
        {"_": 1},
        {"_": 1, "id": "x" * 500},
    ],
)
def test_malformed_data_is_refused(data):
    with pytest.raises(ValueError):
        VisitorProfile.from_data(data)


def test_a_field_that_does_not_fit_is_dropped_and_the_rest_kept():
    data = {**VisitorProfile().to_data(), "v": -1, "n": 4}
    data["sc"] = {"investing": [float("inf"), 0], "savings": [2.5, 0]}
    profile = VisitorProfile.from_data(data)
    assert (profile.visits, profile.pageviews) == (0, 4)
    assert profile.raw_scores == {"savings": [2.5, 0]}


def test_record_pageview_says_first_in_visit_once():
    profile = VisitorProfile(now=START)
    profile.start_visit(START)
    assert profile.record_pageview(5, START) is True
    assert profile.record_pageview(5, START) is False
    assert profile.page_view_count(5) == 2 and profile.pageviews == 2
    profile.start_visit(START + timedelta(hours=2))
    assert profile.record_pageview(5, START) is True


def test_every_change_bumps_the_revision():
    profile = VisitorProfile()
    revisions = [profile.revision]
    for change in (
        lambda: profile.start_visit(START),
        lambda: profile.record_pageview(1, START),
        lambda: profile.add_score("a", 1, START),
        lambda: profile.track_event("e", 1, START),
        lambda: profile.set_attribute("k", 1),
    ):
        change()
        revisions.append(profile.revision)
    assert revisions == sorted(set(revisions))
    assert profile.changed


def test_collections_stay_bounded():
    profile = VisitorProfile(now=START)
    for number in range(200):
        moment = START + timedelta(days=number)
        profile.record_pageview(number, moment)
        profile.add_score(f"interest-{number}", number, moment)
        profile.track_event("visit-branch", 1, moment)
        profile.track_event(f"event-{number}", 1, moment)
        profile.set_attribute(f"key-{number}", number)
    assert len(profile.page_views) == MAX_PAGES
    assert 199 in profile.page_views and 0 not in profile.page_views
    assert len(profile.raw_scores) == MAX_SCORES
    assert len(profile.event_days) <= 16
    assert len(profile.attributes) == MAX_ATTRIBUTES and profile.attributes["key-199"] == 199


def test_event_days_are_capped_and_counted_within_days():
    profile = VisitorProfile(now=START)
    for day in range(20):
        profile.track_event("login", 1, START + timedelta(days=day))
    last = START + timedelta(days=19)
    assert len(profile.event_days["login"]) == MAX_EVENT_DAYS
    assert profile.event_count("login", within_days=1, now=last) == 1
    assert profile.event_count("login", within_days=3, now=last) == 3
    assert profile.event_count("login") == MAX_EVENT_DAYS


@override_settings(WAGTAIL_SEGMENTS={"SCORE_HALF_LIFE_DAYS": 10})
def test_scores_halve_every_half_life_and_accumulate():
    profile = VisitorProfile(now=START)
    profile.add_score("investing", 40, START)
    with time_machine.travel(START + timedelta(days=10), tick=False):
        assert profile.scores["investing"] == pytest.approx(20, abs=0.01)
    with time_machine.travel(START + timedelta(days=20), tick=False):
        assert profile.scores["investing"] == pytest.approx(10, abs=0.01)
        profile.add_score("investing", 5)
        assert profile.scores["investing"] == pytest.approx(15, abs=0.01)
    with time_machine.travel(START + timedelta(days=30), tick=False):
        assert profile.scores["investing"] == pytest.approx(7.5, abs=0.01)


@override_settings(WAGTAIL_SEGMENTS={"SCORE_HALF_LIFE_DAYS": None})
def test_scores_without_half_life_never_decay():
    profile = VisitorProfile(now=START)
    profile.add_score("investing", 40, START)
    with time_machine.travel(START + timedelta(days=3650), tick=False):
        assert profile.scores == {"investing": 40}


def test_scores_are_sorted_highest_first():
    profile = VisitorProfile(now=START)
    with time_machine.travel(START, tick=False):
        profile.add_score("a", 1)
        profile.add_score("b", 30)
        profile.add_score("c", 7)
        assert list(profile.scores) == ["b", "c", "a"]


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("", 1, "1 to 40"),
        ("k" * 41, 1, "1 to 40"),
        (3, 1, "1 to 40"),
        ("cart", object(), "JSON"),
        ("cart", float("nan"), "JSON"),
        ("cart", "x" * 500, "at most"),
    ],
)
def test_set_attribute_refuses_what_it_cannot_keep(key, value, message):
    profile = VisitorProfile()
    with pytest.raises(ValueError, match=message):
        profile.set_attribute(key, value)
    assert profile.attributes == {} and not profile.changed


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda profile: profile.track_event("e" * 41), "An event name must be text of 1 to 40"),
        (lambda profile: profile.track_event(""), "An event name"),
        (
            lambda profile: profile.add_score("i" * 101, 5),
            "An interest slug must be text of 1 to 100",
        ),
        (lambda profile: profile.add_score(None, 5), "An interest slug"),
    ],
)
def test_events_and_scores_refuse_names_they_cannot_keep(change, message):
    """A longer name would be written, then dropped when the profile is read back."""
    profile = VisitorProfile()
    with pytest.raises(ValueError, match=message):
        change(profile)
    assert profile.events == {} and profile.raw_scores == {} and not profile.changed


def test_percentile_is_stable_and_spread():
    profile = VisitorProfile(visitor_id="abc")
    assert profile.percentile("students") == VisitorProfile(visitor_id="abc").percentile("students")
    assert 0 <= profile.percentile("students") < 100
    values = {VisitorProfile().percentile("x") for _ in range(200)}
    assert len(values) > 150
