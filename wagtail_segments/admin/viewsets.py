"""Admin screens: segments and interests as snippets under one "Personalisation" menu."""

from django.forms import CheckboxSelectMultiple
from django.urls import path, reverse
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import (
    FieldPanel,
    FieldRowPanel,
    InlinePanel,
    MultiFieldPanel,
    ObjectList,
    TabbedInterface,
    TitleFieldPanel,
)
from wagtail.admin.ui.tables import BooleanColumn, Column, StatusTagColumn
from wagtail.admin.widgets import Button
from wagtail.admin.widgets.slug import SlugInput
from wagtail.snippets.views.snippets import IndexView, SnippetViewSet, SnippetViewSetGroup

from ..models import Goal, Interest, Placement, Segment
from ..spreadsheets import EscapedCSVMixin
from ..stats.queries import potential_label
from .import_export import (
    ImportMembersView,
    ImportSegmentsView,
    export_members_view,
    export_segments_view,
)
from .people import PeopleViewSet
from .tester import SegmentTesterViewSet


class NamePanel(TitleFieldPanel):
    """A name that fills in the slug as it is typed, as a page's title does.

    Only while the object is new: content and rules refer to a saved one by its
    slug, so renaming it must not change the slug.
    """

    def __init__(self, field_name="name", **kwargs):
        kwargs.setdefault("placeholder", False)
        kwargs.setdefault("classname", "")
        super().__init__(field_name, **kwargs)

    class BoundPanel(TitleFieldPanel.BoundPanel):
        def get_should_apply(self):
            return not (self.instance and self.instance.pk)


def slug_panel():
    # ASCII slugs: the models' SlugFields refuse others.
    return FieldPanel("slug", widget=SlugInput(attrs={"data-w-slug-allow-unicode-value": False}))


class SegmentIndexView(EscapedCSVMixin, IndexView):
    @cached_property
    def header_more_buttons(self):
        return [
            *super().header_more_buttons,
            Button(
                _("Export as JSON"),
                url=reverse("wagtail_segments_segments:export"),
                icon_name="download",
                priority=50,
            ),
            Button(
                _("Import JSON"),
                url=reverse("wagtail_segments_segments:import"),
                icon_name="upload",
                priority=60,
            ),
        ]

    def get_list_more_buttons(self, instance):
        return [
            *super().get_list_more_buttons(instance),
            Button(
                _("Import members (CSV)"),
                icon_name="upload",
                priority=70,
                url=reverse("wagtail_segments_segments:import_members", args=[instance.pk]),
            ),
            Button(
                _("Export members (CSV)"),
                icon_name="download",
                priority=80,
                url=reverse("wagtail_segments_segments:export_members", args=[instance.pk]),
            ),
        ]


class SegmentViewSet(SnippetViewSet):
    model = Segment
    index_view_class = SegmentIndexView
    icon = "group"
    url_prefix = "personalisation/segments"
    url_namespace = "wagtail_segments_segments"
    list_display = [
        "name",
        StatusTagColumn(
            "state", label=_("State"), primary=lambda segment: segment.state == _("enabled")
        ),
        "rules_summary",
        Column(
            "potential",
            label=_("Visitors (30 days)"),
            accessor=lambda segment: potential_label(segment.slug) or "—",
        ),
        "priority",
    ]
    list_filter = ["enabled", "match"]

    def get_urlpatterns(self):
        return [
            *super().get_urlpatterns(),
            path("export/", export_segments_view, name="export"),
            path("import/", ImportSegmentsView.as_view(), name="import"),
            path("<int:pk>/members/import/", ImportMembersView.as_view(), name="import_members"),
            path("<int:pk>/members/export/", export_members_view, name="export_members"),
        ]

    search_fields = ["name", "slug", "description"]
    list_export = [
        "name",
        "slug",
        "enabled",
        "priority",
        "match",
        "rules_summary",
        "active_from",
        "active_until",
    ]
    edit_handler = TabbedInterface(
        [
            ObjectList(
                [
                    MultiFieldPanel(
                        [NamePanel(), slug_panel(), FieldPanel("description")],
                        heading=_("Segment"),
                    ),
                    FieldPanel("match"),
                    FieldPanel("rules"),
                ],
                heading=_("Rules"),
            ),
            ObjectList(
                [
                    FieldRowPanel([FieldPanel("enabled"), FieldPanel("priority")]),
                    MultiFieldPanel(
                        [FieldRowPanel([FieldPanel("active_from"), FieldPanel("active_until")])],
                        heading=_("Schedule"),
                        help_text=_("Leave blank for a segment that is always active."),
                    ),
                    FieldRowPanel([FieldPanel("sticky_days"), FieldPanel("holdout_percent")]),
                ],
                heading=_("Settings"),
            ),
        ]
    )


class InterestViewSet(SnippetViewSet):
    model = Interest
    icon = "tag"
    url_prefix = "personalisation/interests"
    url_namespace = "wagtail_segments_interests"
    list_display = ["name", "slug", "group"]
    list_filter = ["group"]
    search_fields = ["name", "slug"]
    panels = [
        FieldRowPanel([NamePanel(), slug_panel()]),
        FieldPanel("group"),
        MultiFieldPanel(
            [
                FieldPanel("points"),
                FieldPanel("page_tags"),
                FieldPanel("referrer_domains"),
                FieldPanel("utm_campaigns"),
            ],
            heading=_("Signals that give points"),
        ),
    ]


class PlacementViewSet(SnippetViewSet):
    model = Placement
    icon = "doc-empty-inverse"
    url_prefix = "personalisation/placements"
    url_namespace = "wagtail_segments_placements"
    list_display = ["name", "slot", BooleanColumn("enabled", label=_("Enabled"))]
    list_filter = ["slot", "enabled"]
    search_fields = ["name"]
    panels = [
        FieldRowPanel([FieldPanel("name"), FieldPanel("slot")]),
        FieldPanel("content"),
        MultiFieldPanel(
            [
                InlinePanel("placement_pages", label=_("Page"), heading=_("Pages")),
                FieldPanel("page_types", widget=CheckboxSelectMultiple),
                FieldPanel("enabled"),
            ],
            heading=_("Where it shows"),
        ),
    ]


class GoalViewSet(SnippetViewSet):
    model = Goal
    icon = "success"
    url_prefix = "personalisation/goals"
    url_namespace = "wagtail_segments_goals"
    list_display = ["name", "kind", "page", "event", BooleanColumn("enabled", label=_("Enabled"))]
    list_filter = ["kind", "enabled"]
    search_fields = ["name"]
    panels = [
        FieldPanel("name"),
        FieldPanel("kind"),
        FieldPanel("page"),
        FieldPanel("event"),
        FieldPanel("enabled"),
    ]


class PersonalisationViewSetGroup(SnippetViewSetGroup):
    items = (
        SegmentViewSet,
        InterestViewSet,
        PlacementViewSet,
        GoalViewSet,
        SegmentTesterViewSet,
        PeopleViewSet,
    )
    menu_label = _("Personalisation")
    menu_icon = "group"
    menu_name = "personalisation"
    menu_order = 250
