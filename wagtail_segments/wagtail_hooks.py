"""Wiring into Wagtail; the parts live in their own modules."""

from wagtail import hooks
from wagtail.snippets.models import register_snippet

from .audit import warn_editor
from .experiences import serve_experience
from .userbar import add_cockpit
from .viewsets import PersonalisationViewSetGroup
from .visits import track_page_view

register_snippet(PersonalisationViewSetGroup)

# The page view is recorded for the page asked for, then an experience may take over.
hooks.register("before_serve_page", track_page_view)
hooks.register("before_serve_page", serve_experience)
hooks.register("before_edit_page", warn_editor)
hooks.register("before_edit_snippet", warn_editor)
hooks.register("construct_wagtail_userbar", add_cockpit)
