"""Admin reports: segments side by side against the whole site, and variant performance.

Both are Wagtail ``ReportView``s (listing plus CSV and XLSX export) over the
daily stats of the last 7, 30 or 90 days. Trends are drawn as inline SVG on
the server, styled by the package's own stylesheet: nothing is fetched from
another site.
"""

from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from wagtail.admin.ui.tables import Column, NumberColumn
from wagtail.admin.views.generic.permissions import PermissionCheckedMixin
from wagtail.admin.views.reports import ReportView

from .. import permissions
from ..parsing import whole_number
from ..spreadsheets import EscapedCSVMixin
from ..stats.queries import POTENTIAL_DAYS, last_days, segment_rows, variant_rows

PERIODS = (7, 30, 90)
DEFAULT_PERIOD = POTENTIAL_DAYS  # the period the choosers' shares cover
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


class SegmentsReportMixin(EscapedCSVMixin, PermissionCheckedMixin):
    """Only users who may view segments see the reports; CSV cells are escaped."""

    permission_policy = permissions.segments
    permission_required = "view"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(days=self.days, periods=PERIODS)
        return context

    @property
    def days(self):
        return period(self.request)

    def dates(self):
        return last_days(self.days)


# -- segments -----------------------------------------------------------------------------


def segment_trend(row):
    """A segment row's members per day, or the whole site's visitors per day."""
    if not row.slug:
        return trend_chart(
            row.trend, row.dates, _("Visitors per day"), _("No visitors counted yet")
        )
    return trend_chart(
        row.trend, row.dates, _("Members per day"), _("No members seen in this period")
    )


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
        Column("trend_chart", accessor=segment_trend, label=_("Members per day")),
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


def uplift_shown(row):
    """ "+10.0 points" over "95 %: +1.2 to +18.8", or "not enough data yet"."""
    if not row.baseline:
        return ""
    if not row.compared:
        return format_html('<span class="segments-uplift-wait">{}</span>', _("not enough data yet"))
    low, high = row.interval
    return format_html(
        '<span class="segments-uplift">{}</span> <span class="segments-interval">{}</span>',
        _("%(uplift)s points") % {"uplift": points(row.uplift)},
        _("95 %%: %(low)s to %(high)s") % {"low": points(low), "high": points(high)},
    )


def points(value):
    """A difference of rates as signed percentage points: "+4.2", "−1.0", "0.0"."""
    shown = f"{abs(value):.1f}"
    if shown == "0.0":
        return shown
    return ("+" if value > 0 else "−") + shown


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
        Column("uplift_shown", accessor=uplift_shown, label=_("Uplift")),
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
