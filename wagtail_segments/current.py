"""The request being served: its ``VisitorState``, from the request or, where a render
is given no request, from a context variable.

``{{ page.body }}``, ``{% include_block ... only %}`` and ``render_to_string``
render without the request; the middleware sets the state for the request's
thread or asyncio task and resets it after the response. Rendering reads the
state through here, so it needs nothing of the layers that build it.
"""

from contextlib import contextmanager
from contextvars import ContextVar

STATE_ATTRIBUTE = "_wagtail_segments"

_current_state = ContextVar("wagtail_segments_state", default=None)


def visitor_state(request):
    """The request's ``VisitorState``, or None where the middleware did not run."""
    return getattr(request, STATE_ATTRIBUTE, None)


def current_state():
    """The ``VisitorState`` of the request being served here, or None outside a request."""
    return _current_state.get()


@contextmanager
def serving(state):
    """Make ``state`` the current one while the request is served."""
    token = _current_state.set(state)
    try:
        yield state
    finally:
        _current_state.reset(token)
