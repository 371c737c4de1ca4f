"""The cockpit: a Wagtail userbar item showing editors why they see what they see."""

import secrets
from functools import partial

from django.forms import Media
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from wagtail.admin.userbar import BaseItem

from ..conf import URLS_MODULE, public_urls_included
from ..current import visitor_state
from ..log import log_once
from .cockpit import blocks_context, cockpit_context

BLOCKS_TEMPLATE = "wagtail_segments/userbar/cockpit_blocks.html"


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
        request = context["request"]
        context.update(cockpit_context(request))
        context["csrf_token"] = get_token(request)  # for its forms
        # Most sites put the userbar first in <body>, before the blocks it lists:
        # the list goes in once the whole page is rendered.
        marker = f"<!-- wagtail-segments-cockpit-blocks-{secrets.token_hex(8)} -->"
        visitor_state(request).response_hooks.append(partial(fill_in_blocks, marker))
        context["blocks_marker"] = marker
        return context

    def render_html(self, parent_context=None):
        request = (parent_context or {}).get("request")
        state = visitor_state(request) if request is not None else None
        if state is None or not state.is_editor or getattr(request, "in_preview_panel", False):
            return ""
        if not public_urls_included():
            log_once("urls", "No cockpit: the URLconf does not include %r", URLS_MODULE)
            return ""
        return super().render_html(parent_context)


def fill_in_blocks(marker, state, response):
    """Replace the cockpit's marker in the page with the list of its personalised content."""
    if response.streaming or "html" not in response.get("Content-Type", ""):
        return
    marker_bytes = marker.encode()
    if marker_bytes not in response.content:
        return
    html = render_to_string(BLOCKS_TEMPLATE, blocks_context(state))
    response.content = response.content.replace(marker_bytes, html.encode(response.charset), 1)
    if response.has_header("Content-Length"):
        response["Content-Length"] = str(len(response.content))


def add_cockpit(request, items, page):
    """``construct_wagtail_userbar`` hook."""
    items.append(CockpitItem())
