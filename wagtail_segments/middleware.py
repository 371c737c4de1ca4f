"""``SegmentsMiddleware``: tags each request with the visitor's profile and segments.

Both ``request.visitor`` and ``request.segments`` are lazy: a request that
never asks costs nothing but this middleware's call. The profile is written
back only when it changed and the visitor may be tracked.
"""

from contextlib import suppress
from contextvars import ContextVar
from functools import cache

from django.conf import settings
from django.urls import NoReverseMatch, reverse
from django.utils.functional import SimpleLazyObject, cached_property

from . import caching, membership, privacy, stats, visit_log
from .conf import segments_settings
from .editors import is_editor, view_as_slugs
from .engine import SegmentSet
from .profile import VisitorProfile
from .stores import user_store, visitor_store
from .useragent import is_bot

STATE_ATTRIBUTE = "_wagtail_segments"

# The state of the request being served, for renders that are given no request
# (``{{ page.body }}``, ``{% include_block ... only %}``, ``render_to_string``).
# One per thread or asyncio task; reset after each request.
_current_state = ContextVar("wagtail_segments_state", default=None)


class VisitorState:
    """What the package knows of one request's visitor; see ``visitor_state()``."""

    def __init__(self, request):
        self.request = request
        self.page = None  # the page being served (``before_serve_page``), for rules about it
        self.page_id = None  # the page whose view this request recorded, or left to its beacon
        self.beacon_page = False  # a page whose view its beacon records (TRACKING "beacon")
        self.impressions = []  # ``content.Impression`` of each personalised block shown
        self.placeholders = 0  # fragment placeholders rendered (fragment cache mode)
        self.fragments = None  # the fragment endpoint's list of each block's HTML
        self.events = []  # names of the events tracked in this request (for goals)
        self.new_profile = False  # no stored profile was found: this one was made afresh
        self.explained = []  # ``content.Explained`` in render order, for the cockpit (editors)
        self.response_hooks = []  # ``hook(state, response)`` before the response leaves

    @cached_property
    def trackable(self):
        return privacy.is_trackable(self.request)

    @cached_property
    def may_store(self):
        return privacy.may_store(self.request)

    @cached_property
    def store(self):
        return user_store(self.request) or visitor_store()

    @cached_property
    def profile(self):
        own = self.store.load(self.request)
        if own is None and self.store.for_users:
            # A user's first request with the user store adopts their anonymous profile.
            own = visitor_store().load(self.request)
        self.new_profile = own is None
        return own or VisitorProfile()

    @property
    def keeps_identity(self):
        """Whether a new visitor's profile must be stored though nothing was recorded.

        Segments judged them by their id (random buckets, holdouts): a headless
        front-end calling only the segments endpoint or the API keeps that id.
        """
        return self.new_profile and "segments" in self.__dict__ and bool(self.segments.judged)

    @cached_property
    def segments(self):
        segments = SegmentSet(self.request, self.profile, page=self.page)
        if is_bot(self.request.headers.get("User-Agent", "")):
            segments.forced = frozenset()  # bots get default content
        elif self.viewing_as is not None:
            segments.forced = self.viewing_as
        return segments

    def serve_page(self, page):
        """Tell the engine the page being served, without loading the profile before it is asked."""
        self.page = page
        if "segments" in self.__dict__:
            self.segments.page = page

    @cached_property
    def cache_mode(self):
        return caching.mode()

    @cached_property
    def is_editor(self):
        return is_editor(self.request)

    @cached_property
    def viewing_as(self):
        """The segments an editor is viewing the site as ("view as"), or None."""
        return view_as_slugs(self.request)

    @property
    def profile_loaded(self):
        return "profile" in self.__dict__

    @property
    def personalised(self):
        """Whether the response depends on the visitor's segments."""
        return "segments" in self.__dict__ and bool(self.segments.asked)

    def finish(self, response):
        for hook in self.response_hooks:
            hook(self, response)
        # A page served with fragment placeholders, or in beacon tracking, is for every
        # visitor: the fragment request or the beacon records this visitor's view.
        records = not (self.placeholders or self.beacon_page)
        if self.profile_loaded and records:
            stats.record(self, response)
            visit_log.note_visit(self)
            membership.note_changes(self)
        changed = self.profile_loaded and (self.profile.changed or self.keeps_identity)
        if changed and self.may_store and records:
            self.store.save(self.request, response, self.profile)
            self.profile.changed = False
        if self.__dict__.get("is_editor") or self.__dict__.get("viewing_as") is not None:
            # The userbar's cockpit, "view as": an editor's page is theirs alone.
            caching.mark_private(response)
            return
        if not self.personalised:
            return
        if self.cache_mode == "segments":
            caching.after_view(self.request, response, self, sets_cookie=bool(response.cookies))
        else:
            # Another visitor must never get this copy from a shared cache.
            caching.mark_private(response)

    def erase(self, response):
        """Forget this visitor: delete the stored profile and start afresh."""
        membership.note_erased(self)
        self.store.erase(self.request, response, self.profile)
        if self.store.for_users:
            # The anonymous profile this user's was adopted from goes too.
            visitor_store().erase(self.request, response, self.profile)
        self.__dict__["profile"] = VisitorProfile()
        self.__dict__.pop("segments", None)
        self.new_profile = False  # an erased visitor is not stored again by this request


def attach_state(request):
    """Give the request its ``VisitorState``, ``request.visitor`` and ``request.segments``."""
    state = VisitorState(request)
    setattr(request, STATE_ATTRIBUTE, state)
    request.visitor = SimpleLazyObject(lambda: state.profile)
    request.segments = SimpleLazyObject(lambda: state.segments)
    return state


def force_segments(request, slugs):
    """Judge this request as a member of exactly ``slugs`` (previews, "view as")."""
    state = visitor_state(request) or attach_state(request)
    state.segments.forced = frozenset(slugs)
    return state


def visitor_state(request):
    """The request's ``VisitorState``, or None where the middleware did not run."""
    return getattr(request, STATE_ATTRIBUTE, None)


def current_state():
    """The ``VisitorState`` of the request being served here, or None outside a request."""
    return _current_state.get()


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
        token = _current_state.set(state)
        try:
            if state.cache_mode == "segments":
                caching.before_view(request, state)
            response = self.get_response(request)
            state.finish(response)
        finally:
            _current_state.reset(token)
        return response
