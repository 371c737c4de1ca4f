"""Wiring into Wagtail; the parts live in their own modules."""

from django.urls import include, path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.snippets.models import register_snippet

from . import report_urls
from .audit import warn_editor
from .editors import PERMISSION
from .experiences import serve_experience
from .userbar import add_cockpit
from .viewsets import PersonalisationViewSetGroup
from .visits import track_page_view

register_snippet(PersonalisationViewSetGroup)


class PermissionMenuItem(MenuItem):
    """Shown to users who may view segments."""

    def is_shown(self, request):
        return request.user.has_perm(PERMISSION)


# The page view is recorded for the page asked for, then an experience may take over.
hooks.register("before_serve_page", track_page_view)
hooks.register("before_serve_page", serve_experience)
hooks.register("before_edit_page", warn_editor)
hooks.register("before_edit_snippet", warn_editor)
hooks.register("construct_wagtail_userbar", add_cockpit)


@hooks.register("register_admin_urls")
def register_report_urls():
    return [
        path("personalisation/reports/", include(report_urls, namespace="wagtail_segments_reports"))
    ]


@hooks.register("register_reports_menu_item")
def segments_report_menu_item():
    return PermissionMenuItem(
        _("Segments"), reverse("wagtail_segments_reports:segments"), icon_name="group", order=1400
    )


@hooks.register("register_reports_menu_item")
def variants_report_menu_item():
    return PermissionMenuItem(
        _("Personalised variants"),
        reverse("wagtail_segments_reports:variants"),
        icon_name="doc-full",
        order=1401,
    )
