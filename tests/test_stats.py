"""Stats: what is counted, exactness under concurrent writers, reports and their exports."""

import csv
import io
import multiprocessing
import os
import pickle
import random
from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection, connections
from django.test import override_settings
from django.utils import timezone

from tests.factories import (
    BOT_UA,
    BROWSER_UA,
    CAMPUS,
    GoalFactory,
    SegmentFactory,
    today,
    visitor_client,
)
from wagtail_segments import engine
from wagtail_segments.conf import segments_settings
from wagtail_segments.models import Goal, GoalDay, SegmentDay, SiteDay, VariantDay
from wagtail_segments.stats import recording as stats
from wagtail_segments.stats.recording import recorder
from wagtail_segments.visitor.stores import _unsign


def stats_keys_read(keys):
    """The kinds of stats entries among cache keys read: ["day", "variants", ...]."""
    return sorted(key.split(":")[2] for key in keys if key.startswith("wagtail_segments:stats:"))


def test_visitors_members_and_page_views_are_counted(counted):
    student = visitor_client()
    for path in (CAMPUS, "/", "/savings/"):
        student.get(path)
    other = visitor_client()
    other.get("/")
    recorder.flush()
    site = today(SiteDay)
    assert (site.visitors, site.pageviews) == (2, 4)
    students = today(SegmentDay, segment="college-students")
    assert (students.members, students.pageviews) == (1, 3)  # counted once a day
    assert not SegmentDay.objects.filter(segment="investors").exists()


def put_in_cart(client, name="Card holder"):
    from pages.models import CartPage

    product = CartPage.objects.get().products.get(name=name)
    client.post("/cart/", {"product": product.pk, "action": "add"})


def test_a_member_who_joins_later_in_the_day_is_counted_once_that_day(counted):
    shopper, browsing = visitor_client(), visitor_client()
    shopper.get("/")  # the home page asks about small carts: not yet
    put_in_cart(shopper)  # a page view that puts £8 in the cart: in "Cart under £100" now
    shopper.get("/")  # the third page view judges them a member
    browsing.get("/")
    recorder.flush()
    small_cart = today(SegmentDay, segment="small-cart")
    assert (small_cart.members, small_cart.pageviews) == (1, 1)
    shopper.get("/news/")  # asks nothing: a member's page view all the same
    shopper.get("/")
    stats._remembered.clear()  # another process: the cache knows they were counted
    shopper.get("/")
    cache.clear()  # and the cache forgets too: the database knows
    stats._remembered.clear()
    shopper.get("/")
    recorder.flush()
    small_cart = today(SegmentDay, segment="small-cart")
    assert (small_cart.members, small_cart.pageviews) == (1, 5)
    assert (today(SiteDay).visitors, today(SiteDay).pageviews) == (2, 8)


def test_counting_judges_no_segment_the_request_did_not(counted):
    response = visitor_client().get("/news/")  # no content asks about any segment
    judged = response.wsgi_request._wagtail_segments.segments.judged
    assert judged == ["college-students"]  # sticky: judged for the profile, as before
    recorder.flush()
    assert not SegmentDay.objects.exists()


def test_the_sites_editors_are_not_counted_unless_asked(counted, django_user_model):
    from django.contrib.auth.models import Permission

    editor = visitor_client()
    editor_user = django_user_model.objects.create_user("editor", "e@example.com", "pw")
    editor_user.user_permissions.add(Permission.objects.get(codename="access_admin"))
    editor.force_login(editor_user)
    customer = visitor_client()  # logged in to the site, not to its admin
    customer.force_login(django_user_model.objects.create_user("c", "c@example.com", "pw"))
    for client in (editor, customer):
        client.get(CAMPUS)
        client.get("/")
    recorder.flush()
    assert (today(SiteDay).visitors, today(SiteDay).pageviews) == (1, 2)
    hero = VariantDay.objects.filter(block="personalised_hero")
    assert sum(hero.values_list("impressions", flat=True)) == 1
    with override_settings(WAGTAIL_SEGMENTS={"STATS_COUNT_EDITORS": True}):
        editor.get("/")
    recorder.flush()
    assert (today(SiteDay).visitors, today(SiteDay).pageviews) == (2, 3)
    assert today(SegmentDay, segment="college-students").members == 2


def test_a_visitors_later_page_views_today_need_no_cache_read(counted, cache_reads):
    student = visitor_client()
    student.get(CAMPUS)
    student.get("/")  # the personalised hero: a variant shown in this visit
    cache_reads.clear()
    student.get("/savings/")
    student.get("/")  # the same variant again
    assert stats_keys_read(cache_reads) == []
    # Another process remembers nothing of this visitor: it reads the shared entries once.
    stats._remembered.clear()
    stats._shown_here.clear()
    for _ in range(2):
        student.get("/")
    assert stats_keys_read(cache_reads) == ["day", "variants"]
    recorder.flush()
    students = today(SegmentDay, segment="college-students")
    assert (students.members, students.pageviews) == (1, 6)
    hero = VariantDay.objects.get(block="personalised_hero", variant=1, day=timezone.localdate())
    assert hero.impressions == 4


def test_a_new_visitors_first_page_view_reads_nothing_from_the_cache(counted, cache_reads):
    visitor_client().get("/")  # the personalised hero: counted, and its variant remembered
    assert stats_keys_read(cache_reads) == []
    recorder.flush()
    assert (today(SiteDay).visitors, today(SiteDay).pageviews) == (1, 1)
    assert VariantDay.objects.get(block="personalised_hero", variant=0).impressions == 1


def test_counting_waits_until_the_response_is_sent(counted):
    from django.test import RequestFactory
    from wagtail.views import serve

    from wagtail_segments.middleware import SegmentsMiddleware

    request = RequestFactory().get("/", headers={"user-agent": BROWSER_UA})
    request.user = AnonymousUser()
    response = SegmentsMiddleware(lambda request: serve(request, "/").render())(request)
    assert response.status_code == 200
    assert not recorder.pending  # the page went out with nothing counted yet
    response.close()  # what the server does once it has sent the response
    assert recorder.pending[(("site", timezone.localdate()), "pageviews")] == 1
    # A copy of the response kept by a cache counts nothing when it is closed again.
    copy = pickle.loads(pickle.dumps(response))
    pending = dict(recorder.pending)
    copy.close()
    assert dict(recorder.pending) == pending


def test_a_sticky_membership_found_by_the_count_reaches_the_cookie(counted):
    from wagtail_segments.visitor.profile import VisitorProfile

    SegmentFactory(slug="readers", sticky_days=7, rules=[("pageviews", {"count": 1})])
    engine.invalidate_definitions()
    response = visitor_client().get("/savings/")  # no content asks about "readers"
    cookie = response.cookies[segments_settings.COOKIE_NAME].value
    assert "readers" in VisitorProfile.from_data(_unsign(cookie)).sticky


@pytest.mark.parametrize(
    "headers",
    [{"HTTP_USER_AGENT": BOT_UA}, {"HTTP_DNT": "1"}, {"HTTP_SEC_GPC": "1"}],
    ids=["bot", "do-not-track", "global-privacy-control"],
)
def test_bots_and_visitors_who_opt_out_count_nothing(counted, headers):
    client = visitor_client(**headers)
    client.get(CAMPUS)
    client.get("/")
    recorder.flush()
    assert not SiteDay.objects.exists() and not VariantDay.objects.exists()


def test_editors_viewing_as_a_segment_count_nothing(counted, django_user_model):
    editor = visitor_client()
    editor.force_login(django_user_model.objects.create_superuser("e", "e@example.com", "pw"))
    editor.post("/personalisation/view-as/", {"segment": ["investors"]})
    editor.get("/")
    recorder.flush()
    assert not SiteDay.objects.exists() and not VariantDay.objects.exists()


def test_goal_conversions_per_segment_show_in_the_report(counted, admin_client):
    student = visitor_client()
    student.get(CAMPUS)
    student.post(
        "/personalisation/event/",
        {"event": "brochure-student-account"},
        content_type="application/json",
    )
    visitor_client().get("/")
    recorder.flush()
    page = admin_client.get("/admin/personalisation/reports/segments/", HTTP_HOST="localhost")
    rows = {row.name: row for row in page.context["object_list"]}
    assert (rows["Whole site"].conversions, rows["Whole site"].conversion_rate) == (1, 50.0)
    assert (rows["College students"].conversions, rows["College students"].conversion_rate) == (
        1,
        100.0,
    )
    assert rows["Investors"].conversions == 0


def test_impressions_and_goals_are_attributed_to_the_variant_shown(counted):
    goal = Goal.objects.get(event="brochure-student-account")
    student, other = visitor_client(), visitor_client()
    student.get(CAMPUS)
    student.get("/")  # the hero's variant 1 (college students)
    other.get("/")  # the default
    for _ in range(2):  # a goal counts once per visit
        student.post(
            "/personalisation/event/",
            {"event": "brochure-student-account"},
            content_type="application/json",
        )
    recorder.flush()
    home_id = demo_home_id()
    hero = {"page_id": home_id, "block": "personalised_hero", "day": timezone.localdate()}
    shown = VariantDay.objects.get(variant=1, **hero)
    default = VariantDay.objects.get(variant=0, held_out=False, **hero)
    assert (shown.impressions, shown.conversions) == (1, 1)
    assert (default.impressions, default.conversions) == (1, 0)
    assert today(GoalDay, goal=goal, segment="").conversions == 1
    assert today(GoalDay, goal=goal, segment="college-students").conversions == 1


def test_holdout_members_are_counted_as_such(counted):
    from wagtail_segments.models import Segment

    Segment.objects.filter(slug="college-students").update(holdout_percent=100)
    engine.invalidate_definitions()
    student = visitor_client()
    student.get(CAMPUS)
    student.get("/")
    recorder.flush()
    held = VariantDay.objects.get(page_id=demo_home_id(), block="personalised_hero", held_out=True)
    # Counted against the variant the holdout keeps them from: the students' variant.
    assert (held.variant, held.segments, held.impressions) == (1, "college-students", 1)


def test_each_variant_is_named_and_measured_against_its_own_holdout(counted, admin_client):
    from wagtail_segments.models import Segment
    from wagtail_segments.stats.queries import variant_rows

    hero = {"page_id": demo_home_id(), "block": "personalised_hero", "day": timezone.localdate()}
    for variant, held_out, segments, impressions, conversions in (
        (0, False, "", 100, 10),  # visitors in no segment
        (1, False, "college-students", 100, 30),
        (1, True, "college-students", 50, 10),
        (2, False, "investors", 80, 6),  # no holdout of its own: against the default
        (2, True, "", 40, 20),  # an old holdout row, not told apart: a baseline for no one
    ):
        VariantDay.objects.create(
            **hero,
            variant=variant,
            held_out=held_out,
            segments=segments,
            impressions=impressions,
            conversions=conversions,
        )
    Segment.objects.filter(slug="investors").update(name="Investors <b>plus</b>")
    rows = {row.variant: row for row in variant_rows(timezone.localdate())}
    students = rows["variant 1 for College students"]
    assert (students.baseline, students.rate, students.uplift) == (
        "default (holdout of College students)",
        30.0,
        10.0,  # 30 % against 20 %: ten points
    )
    investors = rows["variant 2 for Investors <b>plus</b>"]
    assert (investors.baseline, investors.uplift) == ("default", -2.5)  # 7.5 % against 10 %
    for baseline in ("default", "default (holdout of College students)", "default (holdout)"):
        assert (rows[baseline].baseline, rows[baseline].uplift, rows[baseline].confidence) == (
            "",
            "",
            "",
        )
    page = admin_client.get("/admin/personalisation/reports/variants/", HTTP_HOST="localhost")
    html = page.content.decode()
    assert "variant 1 for College students" in html
    assert "Investors &lt;b&gt;plus&lt;/b&gt;" in html and "<b>plus</b>" not in html


def demo_home_id():
    from pages.models import HomePage

    return HomePage.objects.get().pk


def test_a_failed_write_keeps_the_counts_for_the_next(counted, monkeypatch, caplog):
    visitor_client().get("/")  # a site row and the hero's impression row
    calls = []
    real_write = stats.write_row

    def flaky(*row):
        calls.append(row[0])
        if len(calls) == 2:
            raise RuntimeError("the database went away")
        return real_write(*row)

    monkeypatch.setattr(stats, "write_row", flaky)
    assert recorder.flush() == 2  # the site row's two counters, before the failure
    assert "could not write its stats" in caplog.text
    assert len(recorder.pending) == 1  # only the row not written is kept
    assert recorder.flush() == 1
    site = today(SiteDay)
    assert (site.visitors, site.pageviews) == (1, 1)  # written once, not lost, not doubled
    assert VariantDay.objects.get(variant=0, held_out=False).impressions == 1


def test_stats_the_database_refuses_are_dropped_not_retried(counted, monkeypatch, caplog):
    from django.db import IntegrityError

    visitor_client().get("/")
    real_write = stats.write_row

    def refusing(kind, *rest):
        if kind == "variant":
            raise IntegrityError("value out of range")
        return real_write(kind, *rest)

    monkeypatch.setattr(stats, "write_row", refusing)
    assert recorder.flush() == 2
    assert "dropped stats it cannot store" in caplog.text
    assert not recorder.pending  # not retried forever
    assert today(SiteDay).pageviews == 1


def test_goal_stats_outlive_their_goal(counted):
    goal = GoalFactory(event="gone")
    student = visitor_client()
    student.get("/")
    student.post("/personalisation/event/", {"event": "gone"}, content_type="application/json")
    goal_id = goal.pk
    goal.delete()  # before the counts are written
    assert recorder.flush() > 0
    assert not recorder.pending
    assert today(GoalDay, goal_id=goal_id, segment="").conversions == 1


def test_the_reports_show_the_numbers_and_the_exports_hold_them(counted, admin_client):
    for path in (CAMPUS, "/", "/investing/"):
        visitor_client().get(path)
    recorder.flush()
    admin_client.defaults["HTTP_HOST"] = "localhost"
    page = admin_client.get("/admin/personalisation/reports/segments/")
    assert page.status_code == 200
    rows = {row.name: row for row in page.context["object_list"]}
    assert rows["Whole site"].members == 3
    assert rows["College students"].members == 1
    assert '<svg class="segments-trend-bars"' in page.content.decode()
    exported = admin_client.get("/admin/personalisation/reports/segments/?export=csv")
    text = b"".join(exported.streaming_content).decode()
    table = list(csv.DictReader(io.StringIO(text)))
    on_screen = {
        r.name: (r.members, r.pageviews, r.visitor_share, r.conversions) for r in rows.values()
    }
    in_file = {
        r["Segment"]: (
            int(r["Members seen"]),
            int(r["Page views"]),
            float(r["% of visitors"]),
            int(r["Goals reached"]),
        )
        for r in table
    }
    assert in_file == on_screen

    variants = admin_client.get("/admin/personalisation/reports/variants/")
    assert variants.status_code == 200
    exported = admin_client.get("/admin/personalisation/reports/variants/?export=xlsx")
    assert exported["Content-Type"].startswith("application/vnd.openxmlformats")
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(b"".join(exported.streaming_content))).active
    impressions = [row[3] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert impressions == [row.impressions for row in variants.context["object_list"]]


def test_old_stats_are_pruned(counted):
    old = timezone.localdate() - timedelta(days=40)
    SiteDay.objects.create(day=old, visitors=5)
    SiteDay.objects.create(day=timezone.localdate(), visitors=1)
    with override_settings(WAGTAIL_SEGMENTS={"STATS_RETENTION_DAYS": 30}):
        call_command("prune_segment_stats", stdout=io.StringIO())
    assert list(SiteDay.objects.values_list("visitors", flat=True)) == [1]
    with pytest.raises(Exception, match="at least one day"):
        call_command("prune_segment_stats", "--days", "0")


# -- several processes at once (PostgreSQL) ---------------------------------------------------

PROCESSES, ROUNDS, PER_ROUND = 4, 10, 25


def count_in_a_process(day):
    connections.close_all()  # a connection of its own
    for _ in range(ROUNDS):
        for _ in range(PER_ROUND):
            recorder.add(("segment", "racers", day), "members")
            recorder.add(("site", day), "pageviews", 2)
        assert recorder.flush() == 2
    connections.close_all()


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="several processes need PostgreSQL")
def test_several_processes_recording_at_once_give_exact_totals():
    day = timezone.localdate()
    connections.close_all()
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=count_in_a_process, args=(day,)) for _ in range(PROCESSES)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    assert (
        SegmentDay.objects.get(segment="racers", day=day).members == PROCESSES * ROUNDS * PER_ROUND
    )
    assert SiteDay.objects.get(day=day).pageviews == 2 * PROCESSES * ROUNDS * PER_ROUND


VISITORS = 30


def note_members_in_a_process(day):
    """Every process sees the same visitors join the same segments, in its own order."""
    connections.close_all()
    order = list(range(VISITORS))
    random.Random(os.getpid()).shuffle(order)
    for number in order:
        recorder.add_visitor(day, f"racer{number}", ["racers"])
        recorder.add_visitor(day, f"racer{number}", ["sprinters"], visitor=False)
        if number % 7 == 0:
            recorder.flush()
    recorder.flush()
    connections.close_all()


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="several processes need PostgreSQL")
def test_several_processes_seeing_the_same_members_count_each_once():
    day = timezone.localdate()
    connections.close_all()
    context = multiprocessing.get_context("fork")
    workers = [
        context.Process(target=note_members_in_a_process, args=(day,)) for _ in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    assert SiteDay.objects.get(day=day).visitors == VISITORS
    for slug in ("racers", "sprinters"):
        assert SegmentDay.objects.get(segment=slug, day=day).members == VISITORS


def test_segment_potential_shows_in_the_listing_and_next_to_each_choice(counted, admin_client):
    from wagtail_segments.blocks import SegmentsChoiceBlock

    student, other = visitor_client(), visitor_client()
    student.get(CAMPUS)
    other.get("/")
    recorder.flush()
    cache.clear()
    listing = admin_client.get("/admin/personalisation/segments/").content.decode()
    assert "≈ 50 % of last-30-day visitors" in listing
    choices = dict(SegmentsChoiceBlock().field.choices)
    assert choices["college-students"] == "College students (≈ 50 % of last-30-day visitors)"
    assert choices["investors"] == "Investors"  # no members counted: no claim


def test_report_totals_and_trends_cover_the_same_days(db):
    """A row dated ahead of today (a clock gone wrong) counts in neither the total nor the trend."""
    from wagtail_segments.stats.queries import segment_rows

    today = timezone.localdate()
    SegmentFactory(slug="racers")
    for day, visitors in [
        (today - timedelta(days=1), 4),
        (today, 5),
        (today + timedelta(days=3), 7),
    ]:
        SiteDay.objects.create(day=day, visitors=visitors, pageviews=visitors)
        SegmentDay.objects.create(segment="racers", day=day, members=visitors, pageviews=visitors)
    dates = [today - timedelta(days=n) for n in (6, 5, 4, 3, 2, 1, 0)]
    rows = {row.name: row for row in segment_rows(dates[0], dates)}
    for name in ("Whole site", "Racers"):
        assert rows[name].members == sum(rows[name].trend) == 9


@pytest.mark.parametrize("one_statement", [True, False], ids=["batched", "row-at-a-time"])
def test_visitors_and_members_are_noted_in_batches_exactly(db, monkeypatch, one_statement):
    features = type(connection.features)  # (a property on SQLite)
    monkeypatch.setattr(features, "can_return_rows_from_bulk_insert", one_statement)
    day = timezone.localdate()
    counting = stats.Recorder()
    counting.autostart = False
    # 300 visitors, each a member of 2 segments: 900 keys, three batches of NOTE_BATCH.
    for number in range(300):
        counting.add_visitor(day, f"visitor-{number}", {"a", "b"})
    counting.add_visitor(day, "visitor-0", {"a"})  # the same again: noted once
    statements = []
    real_note = counting.note_visitors

    def failing_once(day, keys):
        statements.append(len(keys))
        if len(statements) == 2:
            raise RuntimeError("the database went away")
        return real_note(day, keys)

    monkeypatch.setattr(counting, "note_visitors", failing_once)
    counting.flush()  # the first batch is noted and counted; the rest waits
    assert statements == [stats.NOTE_BATCH, stats.NOTE_BATCH]
    left = sum(int(visitor) + len(segments) for visitor, segments in counting.visitors.values())
    assert left == 900 - stats.NOTE_BATCH
    counting.flush()
    assert not counting.visitors and not counting.pending
    site = SiteDay.objects.get(day=day)
    members = dict(SegmentDay.objects.filter(day=day).values_list("segment", "members"))
    assert (site.visitors, members) == (300, {"a": 300, "b": 300})
    # Seen again the same day (another process, say): nothing is counted twice.
    for number in range(300):
        counting.add_visitor(day, f"visitor-{number}", {"a", "b", "c"})
    counting.flush()
    site.refresh_from_db()
    members = dict(SegmentDay.objects.filter(day=day).values_list("segment", "members"))
    assert (site.visitors, members) == (300, {"a": 300, "b": 300, "c": 300})
