"""The cockpit: a Wagtail userbar item showing editors why they see what they see."""

from django.forms import Media
from django.middleware.csrf import get_token
from wagtail.admin.userbar import BaseItem

from .cockpit import cockpit_context
from .middleware import visitor_state


class CockpitItem(BaseItem):
    template_name = "wagtail_segments/userbar/cockpit.html"

    @property
    def media(self):
        # The userbar lives in a shadow DOM: its CSS goes inside, its JS outside.
        return Media(
            css={"all": ["wagtail_segments/css/cockpit.css"]},
            js=["wagtail_segments/js/cockpit.js"],
        )

    def get_context_data(self, parent_context):
        context = super().get_context_data(parent_context)
        context.update(cockpit_context(context["request"]))
        context["csrf_token"] = get_token(context["request"])  # for its forms
        return context

    def render_html(self, parent_context=None):
        request = (parent_context or {}).get("request")
        state = visitor_state(request) if request is not None else None
        if state is None or not state.is_editor or getattr(request, "in_preview_panel", False):
            return ""
        return super().render_html(parent_context)


def add_cockpit(request, items, page):
    """``construct_wagtail_userbar`` hook."""
    items.append(CockpitItem())
