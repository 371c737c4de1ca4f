"""Admin reports: segments side by side against the whole site, and variant performance.

Both are Wagtail ``ReportView``s (listing plus CSV and XLSX export) over the
daily stats of the last 7, 30 or 90 days. Trends are drawn as inline SVG on
the server: nothing is fetched from another site.
"""

import math
from dataclasses import dataclass, field
from datetime import timedelta

from django.core.exceptions import PermissionDenied
from django.db.models import Sum
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from wagtail.admin.ui.tables import Column, NumberColumn
from wagtail.admin.views.reports import ReportView
from wagtail.models import Page

from .editors import PERMISSION
from .parsing import whole_number
from .spreadsheets import EscapedCSVMixin

PERIODS = (7, 30, 90)
DEFAULT_PERIOD = 30


def period(request):
    days = whole_number(request.GET.get("days", ""), max(PERIODS))
    return days if days in PERIODS else DEFAULT_PERIOD


def sparkline(values, width=120, height=28):
    """An inline SVG line of ``values`` (oldest first), labelled with its total."""
    if not values:
        return ""
    top = max(values) or 1
    step = width / max(len(values) - 1, 1)
    points = " ".join(
        f"{index * step:.1f},{height - 2 - (value / top) * (height - 4):.1f}"
        for index, value in enumerate(values)
    )
    return format_html(
        '<svg class="segments-sparkline" width="{}" height="{}" viewBox="0 0 {} {}" '
        'role="img" aria-label="{}"><polyline fill="none" stroke="currentColor" '
        'stroke-width="2" points="{}"/></svg>',
        width,
        height,
        width,
        height,
        _("Daily trend, %(total)s in all") % {"total": sum(values)},
        points,
    )


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

    @property
    def since(self):
        return timezone.localdate() - timedelta(days=self.days - 1)

    def dates(self):
        return [self.since + timedelta(days=n) for n in range(self.days)]


# -- segments -----------------------------------------------------------------------------

POTENTIAL_DAYS = 30
POTENTIAL_CACHE_SECONDS = 300


def potential():
    """Each segment's share (%) of the last 30 days' visitors, from the stats; cached briefly."""
    from django.core.cache import caches

    from .conf import segments_settings
    from .models import SegmentDay, SiteDay

    cache = caches[segments_settings.CACHE_ALIAS]
    shares = cache.get("wagtail_segments:potential")
    if shares is None:
        since = timezone.localdate() - timedelta(days=POTENTIAL_DAYS - 1)
        visitors = SiteDay.objects.filter(day__gte=since).aggregate(n=Sum("visitors"))["n"] or 0
        members = (
            SegmentDay.objects.filter(day__gte=since)
            .values_list("segment")
            .annotate(n=Sum("members"))
        )
        shares = {slug: percent(count, visitors) for slug, count in members}
        cache.set("wagtail_segments:potential", shares, POTENTIAL_CACHE_SECONDS)
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

    @property
    def conversion_rate(self):
        """Conversions per 100 members seen."""
        return percent(self.conversions, self.members)

    @property
    def trend_chart(self):
        return sparkline(self.trend)


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
            )
        )
    return rows


class SegmentsReportView(SegmentsReportMixin, ReportView):
    page_title = _("Segments")
    header_icon = "group"
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
        return segment_rows(self.since, self.dates())

    def get_filename(self):
        return f"segments-last-{self.days}-days"


# -- variants -----------------------------------------------------------------------------


@dataclass
class VariantRow:
    page: str
    block: str
    variant: str
    impressions: int
    conversions: int
    baseline_rate: float | None = None
    baseline: str = ""
    confidence: str = ""

    @property
    def rate(self):
        return percent(self.conversions, self.impressions)

    @property
    def uplift(self):
        """Relative change of the conversion rate against the baseline, in % ("" if none)."""
        if not self.baseline_rate:
            return ""
        return round(100 * (self.rate - self.baseline_rate) / self.baseline_rate, 1)


def confidence(conversions, impressions, base_conversions, base_impressions):
    """Two-proportion z-test of a variant against its baseline, in words."""
    if min(impressions, base_impressions) < 30:
        return _("too few impressions")
    pooled = (conversions + base_conversions) / (impressions + base_impressions)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / impressions + 1 / base_impressions))
    if spread == 0:
        return _("no difference")
    z = abs(conversions / impressions - base_conversions / base_impressions) / spread
    p_value = math.erfc(z / math.sqrt(2))
    if p_value < 0.05:
        return _("significant (95 %)")
    return _("not significant yet (p = %(p)s)") % {"p": f"{p_value:.2f}"}


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
                row.baseline_rate = percent(baseline["conversions"], baseline["impressions"])
                row.confidence = confidence(
                    total["conversions"],
                    total["impressions"],
                    baseline["conversions"],
                    baseline["impressions"],
                )
            rows.append(row)
    return rows


class VariantsReportView(SegmentsReportMixin, ReportView):
    page_title = _("Personalised variants")
    header_icon = "doc-full"
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
        Column("uplift", label=_("Uplift (%)")),
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
        "uplift": _("Uplift (%)"),
        "confidence": _("Confidence"),
    }

    def get_queryset(self):
        return variant_rows(self.since)

    def get_filename(self):
        return f"variants-last-{self.days}-days"
