"""The reports: uplift with its uncertainty, trend charts, and one share of visitors for all."""

import csv
import io
import math
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from tests.factories import SegmentFactory
from wagtail_segments.admin.reports import segment_trend
from wagtail_segments.models import SegmentDay, SiteDay, VariantDay
from wagtail_segments.stats.queries import difference_interval, potential_label, variant_rows
from wagtail_segments.stats.recording import recorder

SEGMENTS_REPORT = "/admin/personalisation/reports/segments/"
VARIANTS_REPORT = "/admin/personalisation/reports/variants/"


@pytest.fixture(autouse=True)
def nothing_cached():
    cache.clear()


@pytest.mark.parametrize(
    "counts, published",
    [
        # Newcombe (1998), "Interval estimation for the difference between independent
        # proportions", Statistics in Medicine 17: 873-890, table II, method 10.
        ((56, 70, 48, 80), (0.0524, 0.3339)),
        ((9, 10, 3, 10), (0.1705, 0.8090)),
        ((6, 7, 2, 7), (0.0582, 0.8062)),
        ((5, 56, 0, 29), (-0.0381, 0.1926)),
        ((0, 10, 0, 20), (-0.1611, 0.2775)),
        ((10, 10, 0, 10), (0.6075, 1.0)),
    ],
)
def test_the_interval_of_a_difference_is_newcombes(counts, published):
    low, high = difference_interval(*counts)
    assert (round(low, 4), round(high, 4)) == published


def newcombe_by_hand(x1, n1, x2, n2):
    """Newcombe's method 10 written out, independently of the package: 95 %, in points."""
    z = 1.959963985

    def wilson(x, n):
        p = x / n
        root = math.sqrt(4 * n * p * (1 - p) + z * z)
        return (2 * n * p + z * z - z * root) / (2 * (n + z * z)), (
            2 * n * p + z * z + z * root
        ) / (2 * (n + z * z))

    (l1, u1), (l2, u2) = wilson(x1, n1), wilson(x2, n2)
    p1, p2 = x1 / n1, x2 / n2
    low = p1 - p2 - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = p1 - p2 + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return round(100 * low, 1), round(100 * high, 1)


def add_variant_days(page_id, *rows):
    for variant, held_out, segments, impressions, conversions in rows:
        VariantDay.objects.create(
            page_id=page_id,
            block="hero",
            day=timezone.localdate(),
            variant=variant,
            held_out=held_out,
            segments=segments,
            impressions=impressions,
            conversions=conversions,
        )


def test_the_uplift_against_a_holdout_shows_its_interval(db, admin_client):
    SegmentFactory(slug="students")
    add_variant_days(
        1,
        (1, False, "students", 400, 120),  # 30 %
        (1, True, "students", 100, 15),  # the holdout: 15 %
    )
    [row] = [row for row in variant_rows(timezone.localdate()) if row.baseline]
    expected = newcombe_by_hand(120, 400, 15, 100)
    assert expected == (5.7, 22.4)  # by hand: from +5.7 to +22.4 points
    assert (row.uplift, row.uplift_low, row.uplift_high) == (15.0, *expected)
    assert row.confidence == "better (95 % confidence)"
    html = admin_client.get(VARIANTS_REPORT).content.decode()
    assert "+15.0 points" in html and "95 %: +5.7 to +22.4" in html
    exported = admin_client.get(VARIANTS_REPORT + "?export=csv")
    [line] = [
        line
        for line in csv.DictReader(io.StringIO(b"".join(exported.streaming_content).decode()))
        if line["Against"]
    ]
    assert (line["Uplift (points)"], line["Uplift, 95 % low"], line["Uplift, 95 % high"]) == (
        "15.0",
        "5.7",
        "22.4",
    )


def test_an_interval_that_spans_no_difference_says_so(db):
    add_variant_days(
        1,
        (1, False, "students", 60, 9),  # 15 %
        (1, True, "students", 40, 4),  # 10 %
    )
    [row] = [row for row in variant_rows(timezone.localdate()) if row.baseline]
    assert (row.uplift_low, row.uplift_high) == newcombe_by_hand(9, 60, 4, 40)
    assert row.uplift_low < 0 < row.uplift_high
    assert row.confidence == "no clear difference yet"


def test_a_few_impressions_give_no_uplift_but_not_enough_data_yet(db, admin_client):
    add_variant_days(
        1,
        (1, False, "students", 4, 0),
        (1, True, "students", 4, 1),  # once "−100 %"
    )
    [row] = [row for row in variant_rows(timezone.localdate()) if row.baseline]
    assert (row.uplift, row.uplift_low, row.uplift_high) == ("", "", "")
    assert row.confidence == "4 of 30 impressions needed"
    html = admin_client.get(VARIANTS_REPORT).content.decode()
    assert "not enough data yet" in html and "100" not in html.split("<tbody>", 1)[1]


# -- the segments report ------------------------------------------------------------------------


def test_trends_have_dates_and_a_scale_and_an_empty_segment_says_so(db, admin_client):
    today = timezone.localdate()
    SegmentFactory(slug="racers", priority=2)
    SegmentFactory(slug="nobody", priority=1)
    for days_ago, visitors, members in [(6, 4, 1), (2, 9, 3), (0, 5, 2)]:
        day = today - timedelta(days=days_ago)
        SiteDay.objects.create(day=day, visitors=visitors, pageviews=visitors)
        SegmentDay.objects.create(segment="racers", day=day, members=members, pageviews=members)
    page = admin_client.get(SEGMENTS_REPORT + "?days=7")
    rows = {row.name: row for row in page.context["object_list"]}
    racers = str(segment_trend(rows["Racers"]))
    first, last = today - timedelta(days=6), today
    dates = (f"{first.day} {first:%b}", f"{last.day} {last:%b}")
    assert f"<span>{dates[0]}</span><span>{dates[1]}</span>" in racers  # the dates
    assert "<span>3</span><span>0</span>" in racers  # the scale: the busiest day, and 0
    assert f"Members per day, {dates[0]} to {dates[1]}: at most 3, 6 in all" in racers
    assert racers.count("<rect") == 3  # a bar for each day with members
    assert 'height="40.00"' in racers and 'height="13.33"' in racers  # 3 of 3, 1 of 3
    assert str(segment_trend(rows["Nobody"])) == (
        '<p class="segments-trend-empty">No members seen in this period</p>'
    )
    html = page.content.decode()
    assert "wagtail_segments/css/reports.css" in html  # the charts' stylesheet


def test_the_listing_and_the_report_show_the_same_share_of_visitors(db, admin_client):
    today = timezone.localdate()
    SegmentFactory(slug="racers")
    for day, visitors, members in [
        (today - timedelta(days=40), 50, 50),  # before the 30 days: in neither
        (today - timedelta(days=3), 6, 1),
        (today + timedelta(days=2), 100, 100),  # a clock gone wrong: in neither
    ]:
        SiteDay.objects.create(day=day, visitors=visitors, pageviews=visitors)
        SegmentDay.objects.create(segment="racers", day=day, members=members, pageviews=members)

    def report_share():
        rows = admin_client.get(SEGMENTS_REPORT + "?days=30").context["object_list"]
        return next(row.visitor_share for row in rows if row.slug == "racers")

    def listing():
        return admin_client.get("/admin/personalisation/segments/").content.decode()

    assert report_share() == 16.7
    assert "≈ 16.7 % of last-30-day visitors" in listing()
    # New counts written: the listing follows at once, as the report does.
    recorder.add_all(
        {(("site", today), "visitors"): 4, (("segment", "racers", today), "members"): 4}
    )
    recorder.flush()
    assert report_share() == 50.0
    assert "≈ 50 % of last-30-day visitors" in listing()
    assert potential_label("racers") == "≈ 50 % of last-30-day visitors"
