"""The segment tester: describe a visitor in the admin, see which segments match and the page.

Nothing about a real visitor is read or written: the tester builds a request
and a profile from the form and judges them with the same engine.
"""

import json

from django import forms
from django.http import Http404
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.generic import FormView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.views.generic.permissions import PermissionCheckedMixin
from wagtail.admin.viewsets.base import ViewSet
from wagtail.models import Site

from .. import permissions
from ..engine import SegmentSet
from ..parsing import json_depth, served_page_path, whole_number
from ..visitor.offline import built_request
from ..visitor.profile import (
    MAX_KEY_LENGTH,
    MAX_SLUG_LENGTH,
    MAX_TIME,
    VISITOR_ID,
    VisitorProfile,
    checked_attribute,
    checked_name,
    unix,
)
from ..visitor.state import attach_state
from ..visitor.visits import utm_parameters

DEVICES = {
    "desktop": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0 Safari/537.36",
    "mobile": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "tablet": "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
}
MAX_LINES = 12
# The visitor id a description gets when none is given: random buckets and holdouts
# are drawn from the id, so the same description always gets the same draw.
DESCRIBED_VISITOR_ID = "tester"


def parse_lines(text, convert):
    """``name=value`` lines into a dict; ``convert`` turns each value (raising ValueError)."""
    found = {}
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) > MAX_LINES:
        raise forms.ValidationError(_("At most %(count)s lines.") % {"count": MAX_LINES})
    for number, line in enumerate(lines, start=1):
        name, sep, value = line.partition("=")
        if not sep or not name.strip():
            raise forms.ValidationError(
                _("Line %(number)s: write name=value.") % {"number": number}
            )
        try:
            found[name.strip()] = convert(value.strip())
        except ValueError as error:
            raise forms.ValidationError(
                _("Line %(number)s: %(error)s") % {"number": number, "error": error}
            ) from None
    return found


class VisitorForm(forms.Form):
    url = forms.CharField(
        label=_("Page address"),
        initial="/",
        max_length=500,
        help_text=_("A path on this site, with any UTM parameters: /?utm_campaign=campus"),
    )
    referrer = forms.URLField(label=_("Referrer"), required=False, assume_scheme="https")
    device = forms.ChoiceField(
        label=_("Device"),
        choices=[(key, key.title()) for key in DEVICES],
        initial="desktop",
    )
    language = forms.CharField(
        label=_("Accept-Language"), required=False, initial="en-GB,en;q=0.8", max_length=100
    )
    country = forms.RegexField(
        label=_("Country"),
        regex=r"^[A-Za-z]{2}$",
        required=False,
        max_length=2,
        help_text=_("Two-letter code, e.g. GB."),
    )
    moment = forms.DateTimeField(
        label=_("Date and time"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text=_("Blank: now."),
    )
    visits = forms.IntegerField(label=_("Visits so far"), min_value=1, max_value=10000, initial=1)
    scores = forms.CharField(
        label=_("Interest scores"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "investing=25"}),
        help_text=_("One interest=points per line."),
    )
    events = forms.CharField(
        label=_("Events"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "brochure-download=1"}),
        help_text=_("One event=count per line."),
    )
    visitor_id = forms.RegexField(
        label=_("Visitor id"),
        regex=rf"\A{VISITOR_ID.pattern}\Z",
        required=False,
        max_length=64,
        error_messages={"invalid": _("Use 1 to 64 letters, digits, “_” or “-”.")},
        help_text=_(
            "Random buckets and holdouts are drawn from it: the same id always gets the "
            "same draw. Blank: “%(id)s”."
        )
        % {"id": DESCRIBED_VISITOR_ID},
    )
    attributes = forms.CharField(
        label=_("Attributes"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": 'cart_total=87.5\nplan="gold"'}),
        help_text=_("One key=JSON value per line."),
    )

    def clean_moment(self):
        moment = self.cleaned_data["moment"]
        if moment and not 0 <= unix(moment) < MAX_TIME:
            raise forms.ValidationError(_("Choose a moment from 1970 to 2099."))
        return moment

    def clean_url(self):
        url = self.cleaned_data["url"].strip()
        if not url.startswith("/") or url.startswith("//"):
            raise forms.ValidationError(_("Give a path on this site, starting with a single /."))
        return url

    def clean_scores(self):
        scores = parse_lines(self.cleaned_data["scores"], to_points)
        return kept_names(scores, MAX_SLUG_LENGTH, "An interest slug")

    def clean_events(self):
        events = parse_lines(self.cleaned_data["events"], to_count)
        return kept_names(events, MAX_KEY_LENGTH, "An event name")

    def clean_attributes(self):
        """Attributes as ``set_attribute`` would keep them: the same rules, the same messages."""
        attributes = parse_lines(self.cleaned_data["attributes"], to_json)
        for key, value in attributes.items():
            try:
                checked_attribute(key, value)
            except ValueError as error:
                raise forms.ValidationError(str(error)) from None
        return attributes


def kept_names(found, limit, what):
    """``found``, when a profile can keep each of its names; else say which cannot be kept."""
    for name in found:
        try:
            checked_name(name, limit, what)
        except ValueError as error:
            raise forms.ValidationError(f"{name[:50]}: {error}") from None
    return found


def to_points(text):
    try:
        points = float(text)
    except ValueError:
        raise ValueError(_("“%(value)s” is not a number.") % {"value": text}) from None
    if not 0 <= points <= 100000:
        raise ValueError(_("points must be between 0 and 100,000."))
    return points


def to_count(text):
    count = whole_number(text, 1000)
    if not count:
        raise ValueError(_("a count is a whole number from 1 to 1,000."))
    return count


MAX_JSON_DEPTH = 20


def to_json(text):
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        raise ValueError(
            _('“%(value)s” is not JSON (quote text: "gold").') % {"value": text}
        ) from None
    except RecursionError:
        value = None
    else:
        if json_depth(value) <= MAX_JSON_DEPTH:
            return value
    raise ValueError(_("this JSON value is nested too deeply."))


def described_visitor(data, host):
    """The synthetic request and profile the form describes."""
    headers = {"user-agent": DEVICES[data["device"]]}
    if data["referrer"]:
        headers["referer"] = data["referrer"]
    if data["language"]:
        headers["accept-language"] = data["language"]
    request = built_request(data["url"], headers, host, country=data["country"].upper())
    moment = data["moment"] or timezone.now()
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    profile = VisitorProfile(visitor_id=data["visitor_id"] or DESCRIBED_VISITOR_ID, now=moment)
    for _visit in range(data["visits"]):
        profile.start_visit(moment, referrer=data["referrer"], utm=utm_parameters(request.GET))
    for slug, points in data["scores"].items():
        profile.add_score(slug, points, moment, source="code")
    for name, count in data["events"].items():
        profile.track_event(name, count, moment)
    for key, value in data["attributes"].items():
        profile.set_attribute(key, value)
    return request, profile, moment


def render_page_for(request, profile, moment):
    """The page at the request's path as the described visitor gets it, as HTML (or None)."""
    site = Site.find_for_request(request)
    if site is None or served_page_path(request.path_info) is None:
        return None
    state = attach_state(request)
    state.__dict__["profile"] = profile
    state.__dict__["segments"] = SegmentSet(request, profile, now=moment)
    state.__dict__["trackable"] = False  # a description, not a visitor: record nothing
    path_components = [part for part in request.path.split("/") if part]
    try:
        page, args, kwargs = site.root_page.localized.specific.route(request, path_components)
    except Http404:
        return None
    if any(not r.accept_request(request) for r in page.get_view_restrictions()):
        return None
    response = page.serve(request, *args, **kwargs)
    if hasattr(response, "render"):
        response.render()
    return response.content.decode() if response.status_code == 200 else None


class SegmentTesterView(PermissionCheckedMixin, WagtailAdminTemplateMixin, FormView):
    template_name = "wagtail_segments/tester.html"
    form_class = VisitorForm
    page_title = _("Segment tester")
    header_icon = "crosshairs"
    permission_policy = permissions.segments
    permission_required = "view"

    def get_breadcrumbs_items(self):
        return [*self.breadcrumbs_items, {"url": "", "label": self.page_title}]

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        if self.request.GET:
            kwargs["data"] = self.request.GET  # a shareable address for each description
        return kwargs

    def get(self, request, *args, **kwargs):
        form = self.get_form()
        context = {"form": form}
        if form.is_bound and form.is_valid():
            visitor, profile, moment = described_visitor(form.cleaned_data, request.get_host())
            context["explanations"] = SegmentSet(visitor, profile, now=moment).explain()
            context["page_html"] = render_page_for(visitor, profile, moment)
            context["moment"] = moment
        return self.render_to_response(self.get_context_data(**context))


class SegmentTesterViewSet(ViewSet):
    name = "wagtail_segments_tester"
    url_prefix = "personalisation/tester"
    icon = "crosshairs"
    menu_label = _("Segment tester")

    def get_urlpatterns(self):
        return [path("", SegmentTesterView.as_view(), name="index")]

    menu_item_class = permissions.shown_to(permissions.segments)
