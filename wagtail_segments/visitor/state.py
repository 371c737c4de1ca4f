"""``VisitorState``: what the package knows of one request's visitor.

Both ``request.visitor`` and ``request.segments`` are lazy: the profile is
loaded, and segments judged, only when something asks.
"""

from django.utils.functional import SimpleLazyObject, cached_property

from ..conf import segments_settings
from ..current import STATE_ATTRIBUTE, visitor_state
from ..engine import SegmentSet
from ..useragent import is_bot
from . import membership, privacy
from .editors import is_editor, view_as_slugs
from .profile import VisitorProfile
from .stores import user_store, visitor_store


class VisitorState:
    """What the package knows of one request's visitor; see ``visitor_state()``."""

    def __init__(self, request):
        self.request = request
        self.page = None  # the page being served (``before_serve_page``), for rules about it
        self.page_id = None  # the page whose view this request recorded, or left to its beacon
        self.rendered_page = None  # (page, its id): the page personalised blocks last rendered in
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
        return segments_settings.CACHE_MODE

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
