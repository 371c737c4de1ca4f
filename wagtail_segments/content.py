"""Deciding personalised content: which variant wins, whether an audience sees a block.

The blocks and template tags call these with the request's ``SegmentSet``;
without one (no request in the context, or the middleware did not run) the
visitor is treated as belonging to no segment, so the default content shows.
Every slug asked about is recorded on the ``SegmentSet`` for the caching layer.
"""

from .middleware import visitor_state

MATCH_ANY, MATCH_ALL = "any", "all"


def segments_from_context(context):
    """The ``SegmentSet`` of the request being rendered, or None."""
    request = (context or {}).get("request")
    state = visitor_state(request) if request is not None else None
    return state.segments if state is not None else None


def matches(segments, slugs, match=MATCH_ANY):
    """Whether the visitor is targeted by ``slugs`` (any or all of them)."""
    if segments is None or not slugs:
        return False
    verdicts = (segments.is_targeted(slug) for slug in slugs)
    return all(verdicts) if match == MATCH_ALL else any(verdicts)


def winning_variant(segments, variants):
    """The first variant (in editor order) whose segments target the visitor, or None."""
    for variant in variants:
        if matches(segments, variant.get("segments") or (), variant.get("match", MATCH_ANY)):
            return variant
    return None


def audience_allows(segments, audience):
    """Whether a block with this audience setting shows to the visitor.

    ``show_to`` limits the block to members of any of those segments;
    ``hide_from`` hides it from members of any of those, and wins.
    """
    audience = audience or {}
    show_to, hide_from = audience.get("show_to") or (), audience.get("hide_from") or ()
    if hide_from and matches(segments, hide_from):
        return False
    return not show_to or matches(segments, show_to)
