"""Last known memberships of server-side profiles, and the signals sent when they change.

A profile kept on the server (the cache or database store, or a user's
profile in the user store) remembers the segments its visitor was last known
to belong to (``VisitorProfile.memberships``, at most ``MAX_MEMBERSHIPS``).
When a request ends, the segments *that request judged* (what its pages,
the segments endpoint or the daily stats asked, with their dependencies) are
compared with that record, together with what is cheap to judge again: the
recorded segments that are gone, disabled or out of their schedule, or whose
sticky period is over. Each difference sends ``segment_entered`` or
``segment_left`` once, and the record is updated. Nothing else is judged for
this: a visitor who comes to match a segment nothing asks about is not
reported until something judges it (the ``export_segment_members`` command
is the nightly catch-all).

Consent, Global Privacy Control and Do Not Track apply as to every write: a
visitor whose profile may not be stored sends nothing; so do bots, previews
and editors viewing the site as segments.
"""

import logging

from ..log import log_once
from ..signals import segment_entered, segment_left
from .profile import MAX_MEMBERSHIPS
from .stores import ServerSideStore, is_authenticated

logger = logging.getLogger(__name__)


def keeps_memberships(state):
    """Whether this request's profile keeps a membership record that may change now."""
    return (
        state.profile_loaded
        and "segments" in state.__dict__
        and state.segments.forced is None
        and isinstance(state.store, ServerSideStore)
        and state.may_store
    )


def is_due(slug, definitions, profile, now):
    """Whether a recorded membership may have ended for a reason that costs no rule."""
    segment = definitions.segments.get(slug)
    if segment is None or not segment.is_scheduled(now):
        return True  # deleted, disabled or out of schedule: no longer a member
    return bool(segment.sticky_days) and profile.sticky.get(slug, 0) <= now.timestamp()


def note_changes(state):
    """Compare this request's verdicts with the record; send a signal for each change."""
    if not keeps_memberships(state):
        return
    segments, profile = state.segments, state.profile
    definitions = segments.definitions
    recorded = profile.memberships
    asked = set(segments.judged)
    asked.update(slug for slug in recorded if is_due(slug, definitions, profile, segments.now))
    order = {slug: position for position, slug in enumerate(definitions.segments)}
    entered, left = [], []
    for slug in sorted(asked, key=lambda slug: (order.get(slug, len(order)), slug)):
        member = slug in definitions.segments and segments.is_member(slug)
        if member and slug not in recorded:
            entered.append(slug)
        elif not member and slug in recorded:
            left.append(slug)
    if not entered and not left:
        return
    since = int(segments.now.timestamp())
    kept = {slug: when for slug, when in recorded.items() if slug not in left}
    kept.update((slug, since) for slug in entered)
    profile.memberships = dict(list(kept.items())[-MAX_MEMBERSHIPS:])
    profile.changed = True  # not a change rules see: the request's verdicts stay valid
    user = state.request.user if is_authenticated(state.request) else None
    for slug in left:
        send(segment_left, slug, profile.visitor_id, user, state.request, held_out=False)
    for slug in entered:
        held_out = segments.is_held_out(slug)
        send(segment_entered, slug, profile.visitor_id, user, state.request, held_out=held_out)


def note_erased(state):
    """The visitor erased their profile: they have left every segment they were known in."""
    if not isinstance(state.store, ServerSideStore):
        return
    user = state.request.user if is_authenticated(state.request) else None
    for slug in state.profile.memberships:
        send(segment_left, slug, state.profile.visitor_id, user, state.request, held_out=False)


def send(signal, slug, visitor_id, user, request, held_out):
    from ..models import Segment

    answers = signal.send_robust(
        sender=Segment,
        slug=slug,
        visitor_id=visitor_id,
        user=user,
        held_out=held_out,
        request=request,
    )
    for receiver, answer in answers:
        if isinstance(answer, Exception):
            log_once(
                ("membership-signal", receiver),
                "A receiver of %s raised; the page was served all the same",
                "segment_entered" if signal is segment_entered else "segment_left",
                exc_info=answer,
            )
