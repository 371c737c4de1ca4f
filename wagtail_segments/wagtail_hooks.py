"""Wiring into Wagtail; the parts live in their own modules."""

from django.contrib.auth.models import Permission
from django.urls import include, path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.snippets.models import register_snippet

from . import permissions
from .admin import urls as report_urls
from .admin.people import (
    register_log_actions,
    segment_members_button,
    user_person_button,
    user_person_message,
)
from .admin.publish_warnings import warn_editor
from .admin.userbar import add_cockpit
from .admin.viewsets import PersonalisationViewSetGroup
from .blocks import CHOICE_NOTE_HOOK
from .experiences import serve_experience
from .stats.queries import potential_label
from .visitor.visits import track_page_view

register_snippet(PersonalisationViewSetGroup)
hooks.register(CHOICE_NOTE_HOOK, potential_label)  # a segment's share of recent visitors


ReportMenuItem = permissions.shown_to(permissions.segments)  # shown to users who may view segments


# The page view is recorded for the page asked for, then an experience may take over.
hooks.register("before_serve_page", track_page_view)
hooks.register("before_serve_page", serve_experience)
hooks.register("before_edit_page", warn_editor)
hooks.register("before_edit_snippet", warn_editor)
hooks.register("construct_wagtail_userbar", add_cockpit)
# People: the permission in the group editor, exports in the audit log, links from segments
# and users.
hooks.register("register_log_actions", register_log_actions)
hooks.register("register_snippet_listing_buttons", segment_members_button)
hooks.register("register_user_listing_buttons", user_person_button)
hooks.register("before_edit_user", user_person_message)


@hooks.register("register_permissions")
def register_people_permission():
    return Permission.objects.filter(
        content_type__app_label="wagtail_segments", codename="view_people"
    )


@hooks.register("register_admin_urls")
def register_report_urls():
    return [
        path("personalisation/reports/", include(report_urls, namespace="wagtail_segments_reports"))
    ]


@hooks.register("register_reports_menu_item")
def segments_report_menu_item():
    return ReportMenuItem(
        _("Segments"), reverse("wagtail_segments_reports:segments"), icon_name="group", order=1400
    )


@hooks.register("register_reports_menu_item")
def variants_report_menu_item():
    return ReportMenuItem(
        _("Personalised variants"),
        reverse("wagtail_segments_reports:variants"),
        icon_name="doc-full",
        order=1401,
    )
