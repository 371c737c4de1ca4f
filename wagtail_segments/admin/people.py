"""Admin screens of People: known visitors, one person, a segment's members, their exports.

Every view needs the ``view_people`` permission (403 otherwise, exports
included). Listings are Wagtail ``ReportView``s (CSV and XLSX export, every
export recorded in Wagtail's audit log); people are judged as of now, without
a request (see ``people``), a page at a time, or all of them when a segment
filters the list.
"""

from datetime import datetime, time, timedelta

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.db.models import CharField, Q, Value
from django.db.models.functions import Cast, Concat
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.generic import TemplateView
from wagtail.admin import messages
from wagtail.admin.filters import DateRangePickerWidget, WagtailFilterSet
from wagtail.admin.ui.tables import BooleanColumn, Column, DateColumn, NumberColumn, TitleColumn
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.views.generic.permissions import PermissionCheckedMixin
from wagtail.admin.views.reports import ReportView
from wagtail.admin.viewsets.base import ViewSet
from wagtail.admin.widgets import Button
from wagtail.log_actions import LogFormatter, log
from wagtail.models import Page

from .. import permissions
from ..conf import segments_settings
from ..models import Interest, Segment, StoredProfile
from ..people import (
    BATCH,
    USER_PREFIX,
    Person,
    listable,
    people,
    person,
    user_key,
    user_profiles_kept,
    users_by_pk,
    without_ips,
)
from ..spreadsheets import EscapedCSVMixin
from ..visitor.profile import unix
from ..visitor.visit_log import visits
from .cockpit import profile_context
from .reports import trend_chart

EXPORT_ACTION = "wagtail_segments.export_people"
# A segment's members are judged from the profiles seen most recently, at most this many
# per screen; the export_segment_members command judges them all.
MAX_JUDGED = 20_000


class PeopleAccessMixin(PermissionCheckedMixin):
    """A 403 page for users without ``view_people``, on every screen and export alike.

    Not ``PermissionDenied``, which Wagtail's admin turns into a redirect to the
    dashboard: a script fetching an export must be told no, not sent a page.
    """

    permission_policy = permissions.people

    def dispatch(self, request, *args, **kwargs):
        if not self.user_has_permission("view"):
            return TemplateResponse(request, "wagtail_segments/people/forbidden.html", status=403)
        return super().dispatch(request, *args, **kwargs)


def person_url(key):
    return reverse("wagtail_segments_people:person", args=[key])


# -- filters ------------------------------------------------------------------------------------


def interest_choices():
    return list(Interest.objects.order_by("group", "name").values_list("slug", "name"))


def segment_choices():
    return list(Segment.objects.order_by("-priority", "name").values_list("slug", "name"))


class PeopleFilterSet(WagtailFilterSet):
    interest = django_filters.ChoiceFilter(
        label=_("Has points in"),
        choices=interest_choices,
        method="filter_interest",
        widget=forms.RadioSelect,
        empty_label=_("All"),
    )
    last_seen = django_filters.DateFromToRangeFilter(
        label=_("Last seen"), widget=DateRangePickerWidget, method="filter_last_seen"
    )

    class Meta:
        model = StoredProfile
        fields = []

    def filter_interest(self, queryset, name, value):
        return queryset.filter(data__sc__has_key=value)

    def filter_last_seen(self, queryset, name, value):
        if value.start:
            queryset = queryset.filter(data__l__gte=unix(day_start(value.start)))
        if value.stop:
            queryset = queryset.filter(data__l__lt=unix(day_start(value.stop, 1)))
        return queryset


def day_start(day, later=0):
    """The first moment of ``day`` (plus ``later`` days) in the current time zone."""
    return timezone.make_aware(datetime.combine(day + timedelta(days=later), time.min))


class SegmentFilterSet(PeopleFilterSet):
    segment = django_filters.ChoiceFilter(
        label=_("Member of"),
        choices=segment_choices,
        method="judged_by_the_view",
        widget=forms.RadioSelect,
        empty_label=_("All"),
    )

    def judged_by_the_view(self, queryset, name, value):
        return queryset  # membership is judged profile by profile, after the database filters


# -- listings -----------------------------------------------------------------------------------


class People:
    """Stored profiles as people, judged a page (or, when exported, a batch) at a time."""

    def __init__(self, rows, host):
        self.rows, self.host = rows, host

    def count(self):
        return self.rows.count()

    def __len__(self):
        return self.count()

    def __getitem__(self, index):
        if isinstance(index, slice):
            return list(people(self.rows[index], host=self.host))
        return list(people(self.rows[index : index + 1], host=self.host))[0]

    def __iter__(self):
        return people(self.rows.iterator(chunk_size=BATCH), host=self.host)


class PeopleView(PeopleAccessMixin, EscapedCSVMixin, ReportView):
    model = StoredProfile
    page_title = _("People")
    header_icon = "user"
    results_template_name = "wagtail_segments/people/results.html"
    index_url_name = "wagtail_segments_people:index"
    index_results_url_name = "wagtail_segments_people:index_results"
    filterset_class = SegmentFilterSet
    is_searchable = True
    default_ordering = ("-updated_at", "key")
    paginate_by = 50
    verbose_name_plural = _("people")
    judged = None  # how many profiles were judged for a segment's members
    columns = [
        TitleColumn("label", label=_("Person"), get_url=lambda person: person_url(person.key)),
        NumberColumn("visits", label=_("Visits")),
        NumberColumn("pageviews", label=_("Page views")),
        Column("top_interests", label=_("Top interests")),
        Column("segment_names", label=_("Segments")),
        DateColumn("last_seen", label=_("Last seen")),
    ]
    list_export = [
        "username",
        "email",
        "visitor_id",
        "visits",
        "pageviews",
        "first_seen",
        "last_seen",
        "top_interests",
        "segment_names",
    ]
    export_headings = {
        "username": _("User"),
        "email": _("Email"),
        "visitor_id": _("Visitor id"),
        "visits": _("Visits"),
        "pageviews": _("Page views"),
        "first_seen": _("First seen"),
        "last_seen": _("Last seen"),
        "top_interests": _("Top interests"),
        "segment_names": _("Segments"),
        "held_out": _("Held out"),
    }

    @cached_property
    def segment(self):
        """The segment whose members are listed, or None."""
        if not (self.filters and self.filters.is_valid()):
            return None
        slug = self.filters.form.cleaned_data.get("segment")
        return Segment.objects.filter(slug=slug).first() if slug else None

    def get_base_queryset(self):
        return super().get_base_queryset() if listable() else StoredProfile.objects.none()

    def search_queryset(self, queryset):
        """People by their user's name or email, or by their exact visitor id."""
        if not self.is_searching:
            return queryset
        User = get_user_model()
        query = self.search_query
        fields = {User.USERNAME_FIELD, User.get_email_field_name(), "first_name", "last_name"}
        names = Q()
        for name in fields:
            if name in {field.name for field in User._meta.get_fields()}:
                names |= Q(**{f"{name}__icontains": query})
        keys = (
            User._default_manager.filter(names)
            .annotate(profile_key=Concat(Value(USER_PREFIX), Cast("pk", CharField())))
            .values("profile_key")
        )
        return queryset.filter(Q(key__in=keys) | Q(key=query) | Q(data__id=query))

    def get_filtered_queryset(self):
        rows = super().get_filtered_queryset()
        if self.segment is None:
            return People(rows, self.request.get_host())
        self.judged = min(rows.count(), MAX_JUDGED)
        slug = self.segment.slug
        return [
            someone
            for someone in People(rows[:MAX_JUDGED], self.request.get_host())
            if someone.segments.is_member(slug)
        ]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            listable=listable(),
            profile_store=segments_settings.PROFILE_STORE,
            user_profile_store=segments_settings.USER_PROFILE_STORE,
            members_of=self.segment,
            judged=self.judged,
            max_judged=MAX_JUDGED,
        )
        return context

    def as_spreadsheet(self, queryset, spreadsheet_format):
        filters = {key: value for key, value in self.request.GET.items() if key != "export"}
        log_export(self.request.user, self.segment, spreadsheet_format, len(queryset), filters)
        return super().as_spreadsheet(queryset, spreadsheet_format)

    def preprocess_field_value(self, field, value, export_format):
        return super().preprocess_field_value(field, without_ips(value), export_format)

    def get_filename(self):
        return f"members-of-{self.segment.slug}" if self.segment else "people"


class MembersView(PeopleView):
    """One segment's members: People with the segment chosen, from the segment's screens."""

    filterset_class = PeopleFilterSet
    index_url_name = "wagtail_segments_people:members"
    index_results_url_name = "wagtail_segments_people:members_results"
    columns = [
        *PeopleView.columns,
        BooleanColumn("held_out", label=_("Held out")),
    ]
    list_export = [*PeopleView.list_export, "held_out"]

    @cached_property
    def segment(self):
        return get_object_or_404(Segment, slug=self.kwargs["slug"])

    def get_index_url(self):
        return reverse(self.index_url_name, args=[self.segment.slug])

    def get_index_results_url(self):
        return reverse(self.index_results_url_name, args=[self.segment.slug])

    def get_page_title(self):
        return gettext("Members of “%(segment)s”") % {"segment": self.segment.name}

    def get_breadcrumbs_items(self):
        return [
            *self.breadcrumbs_items,
            {"url": reverse("wagtail_segments_segments:list"), "label": gettext("Segments")},
            {
                "url": reverse("wagtail_segments_segments:edit", args=[self.segment.pk]),
                "label": self.segment.name,
            },
            {"url": "", "label": gettext("Members")},
        ]

    def get_filtered_queryset(self):
        members = super().get_filtered_queryset()
        for member in members:
            member.held_out = member.segments.is_held_out(self.segment.slug)
        return members


def log_export(user, segment, spreadsheet_format, rows, filters=None):
    """Record an export of people in Wagtail's audit log: on the segment, else on the user.

    ``user`` is None for the ``export_segment_members`` command.
    """
    log(
        segment or user,
        EXPORT_ACTION,
        user=user,
        data={
            "format": spreadsheet_format,
            "rows": rows,
            "segment": segment.slug if segment else "",
            "filters": filters or {},
        },
    )


class ExportFormatter(LogFormatter):
    label = _("Export people")

    def format_message(self, log_entry):
        data = log_entry.data or {}
        values = {"rows": data.get("rows", "?"), "format": str(data.get("format", "")).upper()}
        if data.get("segment"):
            values["segment"] = data["segment"]
            return gettext("Exported %(rows)s members of “%(segment)s” (%(format)s)") % values
        return gettext("Exported %(rows)s people (%(format)s)") % values


def register_log_actions(actions):
    """``register_log_actions`` hook: exports of people, as the audit log shows them."""
    actions.register_action(EXPORT_ACTION)(ExportFormatter)


# -- one person ---------------------------------------------------------------------------------


class PersonView(PeopleAccessMixin, WagtailAdminTemplateMixin, TemplateView):
    template_name = "wagtail_segments/people/person.html"
    header_icon = "user"

    def get(self, request, *args, **kwargs):
        self.person = person(kwargs["key"], host=request.get_host())
        if self.person is not None:
            return super().get(request, *args, **kwargs)
        # A user the user admin links to may have no profile yet: say so, in the admin.
        user = users_by_pk([kwargs["key"]]).get(kwargs["key"][len(USER_PREFIX) :])
        if user is None:
            raise Http404(gettext("No profile is kept under this key."))
        self.template_name = "wagtail_segments/people/no_profile.html"
        self.person = Person(key=kwargs["key"], profile=None, user=user)
        return self.render_to_response(self.get_context_data(person=self.person), status=404)

    def get_page_title(self):
        return self.person.name or self.person.visitor_id

    def get_breadcrumbs_items(self):
        return [
            *self.breadcrumbs_items,
            {"url": reverse("wagtail_segments_people:index"), "label": gettext("People")},
            {"url": "", "label": self.get_page_title()},
        ]

    def get_context_data(self, **kwargs):
        someone = self.person
        if someone.profile is None:
            return super().get_context_data(**kwargs)
        profile, segments = someone.profile, someone.segments
        logged = visits(profile)
        titles = dict(
            Page.objects.filter(
                pk__in={v.landing_page_id for v in logged} | set(profile.page_views)
            ).values_list("pk", "title")
        )
        for visit in logged:
            visit.landing_page = titles.get(visit.landing_page_id, "")
        return super().get_context_data(
            **kwargs,
            **profile_context(profile, segments.definitions),
            person=someone,
            visits=logged,
            visits_chart=trend_chart(
                [visit.pageviews for visit in reversed(logged)],
                [visit.started for visit in reversed(logged)],
                gettext("Page views per visit"),
                gettext("No page views yet."),
            ),
            pages=[
                (titles.get(page_id, gettext("page %(id)s") % {"id": page_id}), count)
                for page_id, count in reversed(profile.page_views.items())
            ],
            explanations=segments.explain(),
            known_since={
                slug: profile.datetime(since) for slug, since in profile.memberships.items()
            },
            moment=segments.now,
        )


# -- wiring ------------------------------------------------------------------------------------


class PeopleViewSet(ViewSet):
    name = "wagtail_segments_people"
    url_prefix = "personalisation/people"
    icon = "user"
    menu_label = _("People")

    def get_urlpatterns(self):
        return [
            path("", PeopleView.as_view(), name="index"),
            path("results/", PeopleView.as_view(results_only=True), name="index_results"),
            path("person/<str:key>/", PersonView.as_view(), name="person"),
            path("members/<slug:slug>/", MembersView.as_view(), name="members"),
            path(
                "members/<slug:slug>/results/",
                MembersView.as_view(results_only=True),
                name="members_results",
            ),
        ]

    menu_item_class = permissions.shown_to(permissions.people)


def segment_members_button(snippet, user, next_url=None):
    """``register_snippet_listing_buttons`` hook: a segment's "Members" in its listing row."""
    if (
        not isinstance(snippet, Segment)
        or not listable()
        or not permissions.people.user_has_permission(user, "view")
    ):
        return []
    url = reverse("wagtail_segments_people:members", args=[snippet.slug])
    return [Button(_("Members"), url=url, icon_name="user", priority=65)]


def user_person_button(user, request_user):
    """``register_user_listing_buttons`` hook: a user's profile, from the user listing."""
    if not user_profiles_kept() or not permissions.people.user_has_permission(request_user, "view"):
        return []
    return [
        Button(
            _("Personalisation profile"),
            url=person_url(user_key(user)),
            icon_name="user",
            priority=50,
        )
    ]


def user_person_message(request, user):
    """``before_edit_user`` hook: the user's page links to their profile, when one is kept."""
    if request.method != "GET" or not permissions.people.user_has_permission(request.user, "view"):
        return
    someone = person(user_key(user), host=request.get_host()) if user_profiles_kept() else None
    if someone is None:
        return
    members = someone.segment_names or gettext("no segment")
    messages.info(
        request,
        format_html(
            "{} {}",
            gettext("This user has a visitor profile: %(visits)s visits.")
            % {"visits": someone.visits},
            gettext("Segments now: %(segments)s.") % {"segments": members},
        ),
        buttons=[messages.button(person_url(user_key(user)), gettext("See their profile"))],
    )
