"""Functions for project code: ask about segments and feed the visitor profile.

Each takes the request. Changes take effect for the rest of the same request
(membership is real time) and are saved with the response when the visitor
may be tracked. Without the middleware on the request they raise
``ImproperlyConfigured``, which names the missing setting.
"""

from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from .conf import MIDDLEWARE_PATH
from .current import visitor_state


def _state(request):
    state = visitor_state(request)
    if state is None:
        raise ImproperlyConfigured(
            f"This request did not pass through {MIDDLEWARE_PATH}: add it to MIDDLEWARE "
            "(or the path is excluded from personalisation)."
        )
    return state


def in_segment(request, slug):
    """Whether the visitor is in the segment ``slug`` right now."""
    return slug in _state(request).segments


def get_segments(request):
    """The visitor's segments (``Segment`` objects), highest priority first."""
    return list(_state(request).segments)


def add_score(request, interest_slug, points):
    """Give the visitor ``points`` towards an interest (a form sent, a download...).

    Raises ``ValueError`` for a slug of more than 100 characters.
    """
    state = _state(request)
    if state.trackable:
        state.profile.add_score(interest_slug, points, timezone.now(), source="code")


def track_event(request, name, count=1):
    """Count an event (``event_count`` rules and goals read it).

    Raises ``ValueError`` for a name of more than 40 characters, or with a NUL
    character or a lone surrogate.
    """
    state = _state(request)
    if state.trackable:
        state.profile.track_event(name, count, timezone.now())
        state.events.append(name)


def set_attribute(request, key, value):
    """Remember a JSON value about the visitor (``attribute`` rules read it).

    Raises ``ValueError`` for a key or value that cannot be kept (too long,
    not JSON, text with a NUL character or a lone surrogate, which databases
    cannot store); the profile is left unchanged then.
    """
    state = _state(request)
    if state.trackable:
        state.profile.set_attribute(key, value)
