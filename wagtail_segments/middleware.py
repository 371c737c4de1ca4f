"""``SegmentsMiddleware``: tags each request with the visitor's profile and segments.

Its own job is the request's edges: skip excluded paths, attach the
``VisitorState`` (``visitor/state.py``) and, after the view, count the request
(``stats``), store the profile when it changed and the visitor may be tracked,
and set the cache headers (``caching``).
"""

from contextlib import suppress
from functools import cache

from django.conf import settings
from django.urls import NoReverseMatch, reverse

from . import caching
from .conf import segments_settings
from .cookies import mark_private
from .current import serving
from .stats import recording
from .visitor import membership, visit_log
from .visitor.state import attach_state


@cache
def _fixed_excluded_prefixes():
    prefixes = []
    with suppress(NoReverseMatch):
        prefixes.append(reverse("wagtailadmin_home"))
    for url in (settings.STATIC_URL, settings.MEDIA_URL):
        if url and url.startswith("/") and url != "/":
            prefixes.append(url)
    return tuple(prefixes)


def is_excluded(path):
    return path.startswith(_fixed_excluded_prefixes()) or path.startswith(
        tuple(segments_settings.EXCLUDE_PATHS)
    )


class SegmentsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if is_excluded(request.path_info):
            return self.get_response(request)
        state = attach_state(request)
        with serving(state):
            if state.cache_mode == "segments":
                caching.before_view(request, state)
            response = self.get_response(request)
            finish(state, response)
        return response


def finish(state, response):
    """After the view: count the request, store the profile, set the response's cache headers."""
    for hook in state.response_hooks:
        hook(state, response)
    # A page served with fragment placeholders, or in beacon tracking, is for every
    # visitor: the fragment request or the beacon records this visitor's view.
    records = not (state.placeholders or state.beacon_page)
    if state.profile_loaded and records:
        recording.record(state, response)
        visit_log.note_visit(state)
        membership.note_changes(state)
    changed = state.profile_loaded and (state.profile.changed or state.keeps_identity)
    if changed and state.may_store and records:
        state.store.save(state.request, response, state.profile)
        state.profile.changed = False
    if state.__dict__.get("is_editor") or state.__dict__.get("viewing_as") is not None:
        # The userbar's cockpit, "view as": an editor's page is theirs alone.
        mark_private(response)
        return
    if not state.personalised:
        return
    if state.cache_mode == "segments":
        caching.after_view(state.request, response, state, sets_cookie=bool(response.cookies))
    else:
        # Another visitor must never get this copy from a shared cache.
        mark_private(response)
