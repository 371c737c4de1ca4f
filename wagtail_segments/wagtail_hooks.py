"""Wiring into the Wagtail admin; the parts live in their own modules."""

from wagtail import hooks
from wagtail.snippets.models import register_snippet

from .viewsets import PersonalisationViewSetGroup
from .visits import track_page_view

register_snippet(PersonalisationViewSetGroup)

hooks.register("before_serve_page", track_page_view)
