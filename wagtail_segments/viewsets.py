"""Admin screens: segments and interests as snippets under one "Personalisation" menu."""

from django.forms import CheckboxSelectMultiple
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import (
    FieldPanel,
    FieldRowPanel,
    InlinePanel,
    MultiFieldPanel,
    ObjectList,
    TabbedInterface,
)
from wagtail.admin.ui.tables import BooleanColumn, StatusTagColumn
from wagtail.snippets.views.snippets import SnippetViewSet, SnippetViewSetGroup

from .models import Goal, Interest, Placement, Segment
from .tester import SegmentTesterViewSet


class SegmentViewSet(SnippetViewSet):
    model = Segment
    icon = "group"
    url_prefix = "personalisation/segments"
    url_namespace = "wagtail_segments_segments"
    list_display = [
        "name",
        StatusTagColumn(
            "state", label=_("State"), primary=lambda segment: segment.state == _("enabled")
        ),
        "rules_summary",
        "priority",
    ]
    list_filter = ["enabled", "match"]
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
                        [FieldPanel("name"), FieldPanel("slug"), FieldPanel("description")],
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
        FieldRowPanel([FieldPanel("name"), FieldPanel("slug")]),
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
    )
    menu_label = _("Personalisation")
    menu_icon = "group"
    menu_name = "personalisation"
    menu_order = 250
