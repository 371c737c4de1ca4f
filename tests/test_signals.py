"""segment_entered / segment_left: once per change, on the request that finds it."""

import logging
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core.cache import caches
from django.test import Client, override_settings
from django.utils import timezone

from tests.factories import BOT_UA, BROWSER_UA, SegmentFactory, make_site_with_pages
from tests.testapp.models import PersonalisedPage
from wagtail_segments import engine
from wagtail_segments.models import Segment, StoredProfile
from wagtail_segments.signals import segment_entered, segment_left
from wagtail_segments.visitor.profile import MAX_MEMBERSHIPS, VisitorProfile

pytestmark = pytest.mark.django_db

DATABASE = {"PROFILE_STORE": "database"}


@pytest.fixture
def site(db):
    caches["default"].clear()
    engine.invalidate_definitions()
    pages = make_site_with_pages("savings", "students")
    offers = PersonalisedPage(
        title="Offers",
        slug="offers",
        body=[
            (
                "offer",
                {
                    "default": "offer-default",
                    "variants": [
                        {"segments": ["asked"], "match": "any", "hide": False, "value": "offer-a"}
                    ],
                },
            )
        ],
    )
    pages["root"].add_child(instance=offers)
    return pages


@pytest.fixture
def changes():
    """What the two signals carried, in order: (signal, slug, visitor id, user, held out)."""
    seen = []

    def entered(sender, slug, visitor_id, user, held_out, request, **kwargs):
        assert sender is Segment and request is not None
        seen.append(("entered", slug, visitor_id, user, held_out))

    def left(sender, slug, visitor_id, user, held_out, request, **kwargs):
        seen.append(("left", slug, visitor_id, user, held_out))

    segment_entered.connect(entered)
    segment_left.connect(left)
    yield seen
    segment_entered.disconnect(entered)
    segment_left.disconnect(left)


def browser(**headers):
    return Client(**{"HTTP_USER_AGENT": BROWSER_UA, **headers})


def state_of(request):
    from wagtail_segments.current import visitor_state

    return visitor_state(request)


def visitor_id():
    return VisitorProfile.from_data(StoredProfile.objects.get().data).visitor_id


def segment(slug, rules, **fields):
    return SegmentFactory(name=slug.title(), slug=slug, rules=rules, **fields)


def pageviews(operator, count):
    return [("pageviews", {"operator": operator, "count": count})]


@pytest.mark.parametrize("store", ["database", "cache"])
def test_entering_and_leaving_are_sent_once_each(site, changes, store):
    segment("newcomers", pageviews("lt", 2))
    segment("regulars", pageviews("gte", 2))
    visitor = browser()
    with override_settings(WAGTAIL_SEGMENTS={"PROFILE_STORE": store}):
        response = visitor.get("/savings/")
        me = response.wsgi_request.visitor.visitor_id
        assert changes == [("entered", "newcomers", me, None, False)]
        visitor.get("/students/")
        assert changes[1:] == [
            ("left", "newcomers", me, None, False),
            ("entered", "regulars", me, None, False),
        ]
        visitor.get("/savings/")
        request = visitor.get("/personalisation/segments/").wsgi_request
        stored = state_of(request).store.load(request)
    assert len(changes) == 3
    assert list(stored.memberships) == ["regulars"]


def test_a_sticky_membership_leaves_once_when_it_expires(site, changes):
    segment("campus", [("utm", {"parameter": "campaign", "value": "campus"})], sticky_days=1)
    visitor = browser()
    start = timezone.now()
    with override_settings(WAGTAIL_SEGMENTS=DATABASE):
        with time_machine.travel(start, tick=False):
            visitor.get("/savings/?utm_campaign=campus")
        assert [change[:2] for change in changes] == [("entered", "campus")]
        with time_machine.travel(start + timedelta(hours=12), tick=False):
            visitor.get("/students/")  # a new visit, not from the campaign: still sticky
        assert len(changes) == 1
        with time_machine.travel(start + timedelta(days=2), tick=False):
            visitor.get("/students/")
            visitor.get("/savings/")
    assert [change[:2] for change in changes] == [("entered", "campus"), ("left", "campus")]


def test_an_expired_sticky_membership_is_judged_again_though_no_page_asks(site, changes):
    segment("campus", [("utm", {"parameter": "campaign", "value": "campus"})], sticky_days=1)
    segment("asked", pageviews("gte", 100))
    visitor = browser()
    start = timezone.now()
    with override_settings(WAGTAIL_SEGMENTS={**DATABASE, "STATS": False}):
        with time_machine.travel(start, tick=False):
            visitor.get("/savings/?utm_campaign=campus")
        with time_machine.travel(start + timedelta(days=2), tick=False):
            response = visitor.get("/offers/")  # asks about "asked" only
    assert response.wsgi_request.segments.asked == {"asked"}
    assert [change[:2] for change in changes] == [("entered", "campus"), ("left", "campus")]


def test_only_the_segments_a_request_judged_are_compared(site, changes):
    segment("asked", pageviews("gte", 1))
    segment("unasked", pageviews("gte", 1))
    visitor = browser()
    with override_settings(WAGTAIL_SEGMENTS={**DATABASE, "STATS": False}):
        response = visitor.get("/offers/")
        assert "offer-a" in response.content.decode()
        assert response.wsgi_request.segments.judged == ["asked"]
        assert [change[:2] for change in changes] == [("entered", "asked")]
        visitor.get("/savings/")  # lists every segment
    assert [change[:2] for change in changes] == [("entered", "asked"), ("entered", "unasked")]


def test_a_held_out_member_enters_as_held_out(site, changes):
    segment("control", pageviews("gte", 1), holdout_percent=100)
    with override_settings(WAGTAIL_SEGMENTS=DATABASE):
        browser().get("/savings/")
    assert [(change[1], change[4]) for change in changes] == [("control", True)]


def test_a_logged_in_users_changes_carry_the_user(site, changes, django_user_model):
    user = django_user_model.objects.create_user("sam", "sam@example.com", "pw")
    segment("members", [("logged_in", {})])
    visitor = browser()
    visitor.force_login(user)
    with override_settings(WAGTAIL_SEGMENTS={"USER_PROFILE_STORE": "database"}):
        visitor.get("/savings/")
    [(kind, slug, visitor, who, held_out)] = changes
    assert (kind, slug, who) == ("entered", "members", user)
    stored = VisitorProfile.from_data(StoredProfile.objects.get(key=f"user:{user.pk}").data)
    assert visitor == stored.visitor_id


def test_a_disabled_or_deleted_segment_is_left_on_the_next_request(site, changes):
    gone = segment("gone", pageviews("gte", 1))
    paused = segment("paused", pageviews("gte", 1))
    segment("asked", pageviews("gte", 100))
    visitor = browser()
    with override_settings(WAGTAIL_SEGMENTS={**DATABASE, "STATS": False}):
        visitor.get("/savings/")
        assert {change[1] for change in changes} == {"gone", "paused"}
        paused.enabled = False
        paused.save()
        gone.delete()
        visitor.get("/offers/")  # asks about neither
    assert sorted(change[:2] for change in changes[2:]) == [("left", "gone"), ("left", "paused")]


def test_erasing_the_profile_leaves_every_segment(site, changes):
    segment("one", pageviews("gte", 1))
    segment("two", pageviews("gte", 1))
    visitor = browser()
    with override_settings(WAGTAIL_SEGMENTS=DATABASE):
        visitor.get("/savings/")
        me = visitor_id()
        visitor.post("/personalisation/erase/")
    assert changes[2:] == [("left", "one", me, None, False), ("left", "two", me, None, False)]
    assert not StoredProfile.objects.exists()


@pytest.mark.parametrize(
    "stores, headers",
    [
        ({}, {}),
        (DATABASE, {"HTTP_SEC_GPC": "1"}),
        (DATABASE, {"HTTP_DNT": "1"}),
        ({**DATABASE, "CONSENT_COOKIE": "consent"}, {}),
        (DATABASE, {"HTTP_USER_AGENT": BOT_UA}),
    ],
    ids=["cookie-store", "global-privacy-control", "do-not-track", "no-consent", "bot"],
)
def test_nothing_is_sent_for_whom_nothing_is_stored(site, changes, stores, headers):
    segment("everyone", pageviews("gte", 0))
    visitor = browser(**headers)
    with override_settings(WAGTAIL_SEGMENTS=stores):
        visitor.get("/savings/")
        visitor.get("/students/")
    assert changes == []
    assert not StoredProfile.objects.exists()


def test_an_editor_viewing_as_a_segment_sends_nothing(site, changes, django_user_model):
    editor = django_user_model.objects.create_superuser("editor", "e@example.com", "pw")
    segment("everyone", pageviews("gte", 0))
    segment("students", pageviews("gte", 100))
    client = browser()
    client.force_login(editor)
    with override_settings(WAGTAIL_SEGMENTS=DATABASE):
        client.post("/personalisation/view-as/", {"segment": ["students"], "next": "/"})
        client.get("/savings/")
    assert changes == []


def test_a_receiver_that_raises_never_breaks_the_page(site, changes, caplog):
    segment("everyone", pageviews("gte", 1))

    def broken(**kwargs):
        raise RuntimeError("the CRM is down")

    segment_entered.connect(broken)
    try:
        with override_settings(WAGTAIL_SEGMENTS=DATABASE), caplog.at_level(logging.ERROR):
            response = browser().get("/savings/")
    finally:
        segment_entered.disconnect(broken)
    assert response.status_code == 200
    assert [change[1] for change in changes] == ["everyone"]  # the other receivers got it
    assert "A receiver of segment_entered raised" in caplog.text
    assert "everyone" in VisitorProfile.from_data(StoredProfile.objects.get().data).memberships


def test_the_membership_record_is_bounded():
    data = VisitorProfile().to_data()
    data["m"] = {f"segment-{n}": 1_700_000_000 for n in range(MAX_MEMBERSHIPS + 50)}
    data["m"]["segment-120"] = "soon"  # not a time: dropped, the rest kept
    profile = VisitorProfile.from_data(data)
    assert len(profile.memberships) == MAX_MEMBERSHIPS - 1  # the last 100, less the bad one
    assert "segment-149" in profile.memberships and "segment-49" not in profile.memberships


def test_group_changes_are_seen_on_the_next_request_that_judges(site, changes, django_user_model):
    user = django_user_model.objects.create_user("sam", "sam@example.com", "pw")
    segment("staff", [("user_group", {"groups": ["Staff"]})])
    visitor = browser()
    visitor.force_login(user)
    with override_settings(WAGTAIL_SEGMENTS={"USER_PROFILE_STORE": "database"}):
        visitor.get("/savings/")
        assert changes == []
        user.groups.add(Group.objects.create(name="Staff"))
        visitor.get("/savings/")
    assert [change[:2] for change in changes] == [("entered", "staff")]
