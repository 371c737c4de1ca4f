"""Reading the stats: segments and variants over a period, shares, confidence intervals.

What the reports list and export, and what the segment choosers note
("≈ 12 % of last-30-day visitors"). Presenting them is the admin's.
"""

import math
from dataclasses import dataclass, field
from datetime import timedelta
from statistics import NormalDist

from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from wagtail.models import Page

from ..conf import segments_cache
from ..models import GoalDay, Segment, SegmentDay, SiteDay, VariantDay
from .recording import SHARES_KEY


def last_days(days):
    """The dates of the last ``days`` days, today last."""
    today = timezone.localdate()
    return [today - timedelta(days=n) for n in reversed(range(days))]


def percent(part, whole):
    return round(100 * part / whole, 1) if whole else 0.0


POTENTIAL_DAYS = 30
POTENTIAL_CACHE_SECONDS = 300


def potential():
    """Each segment's "% of visitors" in the segments report of the last 30 days.

    The report's own rows, cached briefly: the segment listing and each
    variant's segment choices show it once per segment. The stats writer
    forgets it when it writes new counts.
    """
    cache = segments_cache()
    shares = cache.get(SHARES_KEY)
    if shares is None:
        dates = last_days(POTENTIAL_DAYS)
        rows = segment_rows(dates[0], dates)[1:]  # not the whole site
        shares = {row.slug: row.visitor_share for row in rows if row.members}
        cache.set(SHARES_KEY, shares, POTENTIAL_CACHE_SECONDS)
    return shares


def potential_label(slug):
    """ "≈ 12 % of visitors" for a segment with stats, else ""."""
    share = potential().get(slug)
    if share is None:
        return ""
    return _("≈ %(share)s %% of last-30-day visitors") % {"share": f"{share:g}"}


@dataclass
class SegmentRow:
    name: str
    slug: str
    members: int
    pageviews: int
    visitor_share: float  # % of the site's visitors in the period
    pageview_share: float
    trend: list = field(default_factory=list)
    conversions: int = 0  # goals reached by members (each goal once per visit)
    dates: list = field(default_factory=list)  # of the trend

    @property
    def conversion_rate(self):
        """Conversions per 100 members seen."""
        return percent(self.conversions, self.members)


def segment_rows(since, dates):
    """One row per segment (and "Whole site" first) over the days from ``since``.

    Totals and trends cover the same ``dates``: a day outside them (a row
    dated ahead of today) counts in neither.
    """
    period = {"day__range": (since, dates[-1])}

    conversions = dict(
        GoalDay.objects.filter(**period).values_list("segment").annotate(n=Sum("conversions"))
    )
    site = SiteDay.objects.filter(**period)
    site_totals = site.aggregate(visitors=Sum("visitors"), pageviews=Sum("pageviews"))
    visitors, pageviews = site_totals["visitors"] or 0, site_totals["pageviews"] or 0
    site_daily = dict(site.values_list("day", "visitors"))
    rows = [
        SegmentRow(
            _("Whole site"),
            "",
            visitors,
            pageviews,
            100.0 if visitors else 0.0,
            100.0 if pageviews else 0.0,
            [site_daily.get(day, 0) for day in dates],
            conversions.get("", 0),
            dates,
        )
    ]
    daily = {}
    for slug, day, members, views in SegmentDay.objects.filter(**period).values_list(
        "segment", "day", "members", "pageviews"
    ):
        daily.setdefault(slug, {})[day] = (members, views)
    for segment in Segment.objects.order_by("-priority", "name"):
        days = daily.get(segment.slug, {})
        members = sum(m for m, _ in days.values())
        views = sum(v for _, v in days.values())
        rows.append(
            SegmentRow(
                segment.name,
                segment.slug,
                members,
                views,
                percent(members, visitors),
                percent(views, pageviews),
                [days.get(day, (0, 0))[0] for day in dates],
                conversions.get(segment.slug, 0),
                dates,
            )
        )
    return rows


MIN_IMPRESSIONS = 30  # on each side, before a variant is compared with its baseline
Z_95 = NormalDist().inv_cdf(0.975)


def wilson_interval(successes, trials, z=Z_95):
    """Wilson's score interval of the proportion ``successes / trials``."""
    p = successes / trials
    spread = z * z / trials
    centre = (p + spread / 2) / (1 + spread)
    half = z * math.sqrt(p * (1 - p) / trials + spread / (4 * trials)) / (1 + spread)
    return centre - half, centre + half


def difference_interval(successes, trials, base_successes, base_trials, z=Z_95):
    """Newcombe's interval (his method 10, from two Wilson intervals) of a difference of
    proportions: sound with few conversions, or none, where the normal interval is not."""
    p, q = successes / trials, base_successes / base_trials
    low, high = wilson_interval(successes, trials, z)
    base_low, base_high = wilson_interval(base_successes, base_trials, z)
    difference = p - q
    return (
        difference - math.hypot(p - low, base_high - q),
        difference + math.hypot(high - p, q - base_low),
    )


@dataclass
class VariantRow:
    page: str
    block: str
    variant: str
    impressions: int
    conversions: int
    baseline: str = ""
    baseline_impressions: int = 0
    baseline_conversions: int = 0

    @property
    def rate(self):
        return percent(self.conversions, self.impressions)

    @property
    def baseline_rate(self):
        return percent(self.baseline_conversions, self.baseline_impressions)

    @property
    def compared(self):
        """Whether both sides have the impressions a comparison needs."""
        return bool(self.baseline) and (
            min(self.impressions, self.baseline_impressions) >= MIN_IMPRESSIONS
        )

    @property
    def interval(self):
        """The 95 % interval of the uplift in percentage points, or None."""
        if not self.compared:
            return None
        low, high = difference_interval(
            self.conversions,
            self.impressions,
            self.baseline_conversions,
            self.baseline_impressions,
        )
        return round(100 * low, 1), round(100 * high, 1)

    @property
    def uplift(self):
        """The conversion rate minus the baseline's, in percentage points ("" if not compared)."""
        if not self.compared:
            return ""
        return round(
            100 * self.conversions / self.impressions
            - 100 * self.baseline_conversions / self.baseline_impressions,
            1,
        )

    @property
    def uplift_low(self):
        return self.interval[0] if self.interval else ""

    @property
    def uplift_high(self):
        return self.interval[1] if self.interval else ""

    @property
    def confidence(self):
        """What the interval says: better, worse or not clear yet; or the data still missing."""
        if not self.baseline:
            return ""
        if not self.compared:  # how far the smaller side is from a comparison
            return _("%(have)s of %(need)s impressions needed") % {
                "have": min(self.impressions, self.baseline_impressions),
                "need": MIN_IMPRESSIONS,
            }
        low, high = self.interval
        if low > 0:
            return _("better (95 % confidence)")
        if high < 0:
            return _("worse (95 % confidence)")
        return _("no clear difference yet")


def variant_label(total, names):
    """ "variant 1 for College students", "default (holdout of Investors)", "default"."""
    segments = ", ".join(names.get(slug, slug) for slug in total["segments"].split(",") if slug)
    if total["held_out"]:
        if not segments:  # counted before holdouts were told apart per variant
            return _("default (holdout)")
        return _("default (holdout of %(segments)s)") % {"segments": segments}
    if not total["variant"]:
        return _("default")
    if not segments:
        return _("variant %(position)s") % {"position": total["variant"]}
    return _("variant %(position)s for %(segments)s") % {
        "position": total["variant"],
        "segments": segments,
    }


def baseline_of(total, totals_of_block):
    """What a variant is measured against: its own holdout, else the default content.

    The default and the holdouts are baselines themselves: no comparison.
    """
    if not total["variant"] or total["held_out"]:
        return None
    own_holdout = (
        t
        for t in totals_of_block
        if t["held_out"] and (t["variant"], t["segments"]) == (total["variant"], total["segments"])
    )
    default = (t for t in totals_of_block if not t["variant"] and not t["held_out"])
    return next(own_holdout, None) or next(default, None)


def variant_rows(since):
    totals = (
        VariantDay.objects.filter(day__gte=since)
        .values("page_id", "block", "variant", "held_out", "segments")
        .annotate(impressions=Sum("impressions"), conversions=Sum("conversions"))
        .order_by("page_id", "block", "variant", "segments", "held_out")
    )
    titles = dict(
        Page.objects.filter(pk__in={t["page_id"] for t in totals}).values_list("pk", "title")
    )
    names = dict(Segment.objects.values_list("slug", "name"))
    by_block = {}
    for total in totals:
        by_block.setdefault((total["page_id"], total["block"]), []).append(total)
    rows = []
    for (page_id, block), totals_of_block in by_block.items():
        for total in totals_of_block:
            row = VariantRow(
                titles.get(page_id, _("deleted page %(id)s") % {"id": page_id}),
                block.replace("_", " ").capitalize(),
                variant_label(total, names),
                total["impressions"],
                total["conversions"],
            )
            baseline = baseline_of(total, totals_of_block)
            if baseline is not None:
                row.baseline = variant_label(baseline, names)
                row.baseline_impressions = baseline["impressions"]
                row.baseline_conversions = baseline["conversions"]
            rows.append(row)
    return rows
