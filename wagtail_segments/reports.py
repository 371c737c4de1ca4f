"""Admin reports: segments side by side against the whole site, and variant performance.

Both are Wagtail ``ReportView``s (listing plus CSV and XLSX export) over the
daily stats of the last 7, 30 or 90 days. Trends are drawn as inline SVG on
the server, styled by the package's own stylesheet: nothing is fetched from
another site.
"""

import math
from dataclasses import dataclass, field
from datetime import timedelta
from statistics import NormalDist

from django.core.exceptions import PermissionDenied
from django.db.models import Sum
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from wagtail.admin.ui.tables import Column, NumberColumn
from wagtail.admin.views.reports import ReportView
from wagtail.models import Page

from .parsing import whole_number
from .spreadsheets import EscapedCSVMixin
from .visitor.editors import PERMISSION

PERIODS = (7, 30, 90)
DEFAULT_PERIOD = 30
CHART_HEIGHT = 40  # the trend bars' drawing units; the stylesheet decides the size


def period(request):
    days = whole_number(request.GET.get("days", ""), max(PERIODS))
    return days if days in PERIODS else DEFAULT_PERIOD


def trend_chart(values, dates, what, empty):
    """Daily ``values`` over ``dates`` (oldest first) as bars, with their scale and dates.

    ``what`` names the values ("Members per day"); ``empty`` is said instead
    when every value is 0. The bars stretch to the cell's width; the labels
    stay text, so they keep their size.
    """
    if not any(values):
        return format_html('<p class="segments-trend-empty">{}</p>', empty)
    top, first, last = max(values), short_date(dates[0]), short_date(dates[-1])
    bars = format_html_join(
        "",
        '<rect x="{}" y="{}" width="0.8" height="{}"><title>{}: {}</title></rect>',
        (
            (
                f"{index + 0.1:g}",
                f"{CHART_HEIGHT * (1 - value / top):.2f}",
                f"{CHART_HEIGHT * value / top:.2f}",
                short_date(day),
                value,
            )
            for index, (day, value) in enumerate(zip(dates, values, strict=True))
            if value
        ),
    )
    summary = _("%(what)s, %(first)s to %(last)s: at most %(top)s, %(total)s in all") % {
        "what": what,
        "first": first,
        "last": last,
        "top": top,
        "total": sum(values),
    }
    return format_html(
        '<figure class="segments-trend">'
        '<span class="segments-trend-scale" aria-hidden="true"><span>{}</span><span>0</span></span>'
        '<svg class="segments-trend-bars" viewBox="0 0 {} {}" preserveAspectRatio="none" '
        'role="img" aria-label="{}">{}</svg>'
        '<span class="segments-trend-dates" aria-hidden="true">'
        "<span>{}</span><span>{}</span></span>"
        "</figure>",
        top,
        len(values),
        CHART_HEIGHT,
        summary,
        bars,
        first,
        last,
    )


def short_date(day):
    return date_format(day, "j M")


def percent(part, whole):
    return round(100 * part / whole, 1) if whole else 0.0


class SegmentsReportMixin(EscapedCSVMixin):
    """Only users who may view segments see the reports; CSV cells are escaped."""

    def dispatch(self, request, *args, **kwargs):
        if not request.user.has_perm(PERMISSION):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(days=self.days, periods=PERIODS)
        return context

    @property
    def days(self):
        return period(self.request)

    def dates(self):
        return last_days(self.days)


def last_days(days):
    """The dates of the last ``days`` days, today last."""
    today = timezone.localdate()
    return [today - timedelta(days=n) for n in reversed(range(days))]


# -- segments -----------------------------------------------------------------------------

POTENTIAL_DAYS = DEFAULT_PERIOD
POTENTIAL_CACHE_SECONDS = 300


def potential():
    """Each segment's "% of visitors" in the segments report of the last 30 days.

    The report's own rows, cached briefly: the segment listing and each
    variant's segment choices show it once per segment. The stats writer
    forgets it when it writes new counts.
    """
    from django.core.cache import caches

    from .conf import segments_settings
    from .stats import SHARES_KEY

    cache = caches[segments_settings.CACHE_ALIAS]
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

    @property
    def trend_chart(self):
        if not self.slug:
            return trend_chart(
                self.trend, self.dates, _("Visitors per day"), _("No visitors counted yet")
            )
        return trend_chart(
            self.trend, self.dates, _("Members per day"), _("No members seen in this period")
        )


def segment_rows(since, dates):
    """One row per segment (and "Whole site" first) over the days from ``since``.

    Totals and trends cover the same ``dates``: a day outside them (a row
    dated ahead of today) counts in neither.
    """
    from .models import GoalDay, Segment, SegmentDay, SiteDay

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


class SegmentsReportView(SegmentsReportMixin, ReportView):
    page_title = _("Segments")
    header_icon = "group"
    template_name = "wagtail_segments/reports/report.html"
    results_template_name = "wagtail_segments/reports/results.html"
    index_url_name = "wagtail_segments_reports:segments"
    index_results_url_name = "wagtail_segments_reports:segments_results"
    paginate_by = None
    columns = [
        Column("name", label=_("Segment")),
        NumberColumn("members", label=_("Members seen")),
        NumberColumn("visitor_share", label=_("% of visitors")),
        NumberColumn("pageviews", label=_("Page views")),
        NumberColumn("pageview_share", label=_("% of page views")),
        NumberColumn("conversions", label=_("Goals reached")),
        NumberColumn("conversion_rate", label=_("Per 100 members")),
        Column("trend_chart", label=_("Members per day")),
    ]
    list_export = [
        "name",
        "slug",
        "members",
        "visitor_share",
        "pageviews",
        "pageview_share",
        "conversions",
        "conversion_rate",
    ]
    export_headings = {
        "name": _("Segment"),
        "slug": _("Slug"),
        "members": _("Members seen"),
        "visitor_share": _("% of visitors"),
        "pageviews": _("Page views"),
        "pageview_share": _("% of page views"),
        "conversions": _("Goals reached"),
        "conversion_rate": _("Per 100 members"),
    }

    def get_queryset(self):
        dates = self.dates()
        return segment_rows(dates[0], dates)

    def get_filename(self):
        return f"segments-last-{self.days}-days"


# -- variants -----------------------------------------------------------------------------


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


def points(value):
    """A difference of rates as signed percentage points: "+4.2", "−1.0", "0.0"."""
    shown = f"{abs(value):.1f}"
    if shown == "0.0":
        return shown
    return ("+" if value > 0 else "−") + shown


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
    def uplift_shown(self):
        """ "+10.0 points" over "95 %: +1.2 to +18.8", or "not enough data yet"."""
        if not self.baseline:
            return ""
        if not self.compared:
            return format_html(
                '<span class="segments-uplift-wait">{}</span>', _("not enough data yet")
            )
        low, high = self.interval
        return format_html(
            '<span class="segments-uplift">{}</span> <span class="segments-interval">{}</span>',
            _("%(uplift)s points") % {"uplift": points(self.uplift)},
            _("95 %%: %(low)s to %(high)s") % {"low": points(low), "high": points(high)},
        )

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
    from .models import Segment, VariantDay

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


class VariantsReportView(SegmentsReportMixin, ReportView):
    page_title = _("Personalised variants")
    header_icon = "doc-full"
    template_name = "wagtail_segments/reports/report.html"
    results_template_name = "wagtail_segments/reports/results.html"
    index_url_name = "wagtail_segments_reports:variants"
    index_results_url_name = "wagtail_segments_reports:variants_results"
    paginate_by = None
    columns = [
        Column("page", label=_("Page")),
        Column("block", label=_("Block")),
        Column("variant", label=_("Shown")),
        NumberColumn("impressions", label=_("Impressions")),
        NumberColumn("conversions", label=_("Conversions")),
        NumberColumn("rate", label=_("Rate (%)")),
        Column("baseline", label=_("Against")),
        Column("uplift_shown", label=_("Uplift")),
        Column("confidence", label=_("Confidence")),
    ]
    list_export = [
        "page",
        "block",
        "variant",
        "impressions",
        "conversions",
        "rate",
        "baseline",
        "uplift",
        "uplift_low",
        "uplift_high",
        "confidence",
    ]
    export_headings = {
        "page": _("Page"),
        "block": _("Block"),
        "variant": _("Shown"),
        "impressions": _("Impressions"),
        "conversions": _("Conversions"),
        "rate": _("Rate (%)"),
        "baseline": _("Against"),
        "uplift": _("Uplift (points)"),
        "uplift_low": _("Uplift, 95 % low"),
        "uplift_high": _("Uplift, 95 % high"),
        "confidence": _("Confidence"),
    }

    def get_queryset(self):
        return variant_rows(self.dates()[0])

    def get_filename(self):
        return f"variants-last-{self.days}-days"
