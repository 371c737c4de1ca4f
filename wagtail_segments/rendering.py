"""Deciding personalised content: which variant wins, whether an audience sees a block.

The blocks and template tags call these with the request's ``SegmentSet``:
the one of the context's ``request``, else the one of the request being
served (``{{ page.body }}`` renders its blocks with no context at all). With
neither (a management command, search indexing, a task) the visitor belongs
to no segment, so the default content shows and nothing is recorded. Every
slug asked about is recorded on the ``SegmentSet`` for the caching layer.
"""

from typing import Any, NamedTuple

from django.utils.html import format_html

from wagtail_segments.current import current_state, visitor_state

MATCH_ANY, MATCH_ALL = "any", "all"
FRAGMENT_ATTRIBUTE = "data-segments-fragment"


class Impression(NamedTuple):
    """A personalised block shown to a visitor, for the stats layer."""

    page_id: int | None
    block: str  # the block's name in its parent block
    variant: int  # position of the variant shown, from 1; 0 for the default
    held_out: bool = False  # the default was shown instead of ``variant``: a holdout member
    segments: tuple = ()  # the segments of ``variant``


# ``Impression(*fields)`` without the Python-level ``__new__`` of a named tuple: a page
# makes one per personalised block.
make_impression = tuple.__new__


class Explained(NamedTuple):
    """Personalised content rendered for an editor, for the cockpit to explain.

    ``kind`` is "variant" (``detail``: its ``Impression`` and the segments and
    match of each of its variants, in editor order), "audience"
    (``detail``: the audience setting) or "segment tag" (``detail``: the tag's
    slugs and match); ``shown`` says whether the visitor sees the content.
    """

    kind: str
    name: str
    detail: Any
    shown: bool


def state_from_context(context):
    """The ``VisitorState`` to render for: the context's request's, else the current one."""
    request = context.get("request") if context else None
    state = visitor_state(request) if request is not None else None
    return state if state is not None else current_state()


def segments_from_context(context):
    """The ``SegmentSet`` of the request being rendered, or None."""
    state = state_from_context(context)
    return state.segments if state is not None else None


def matches(segments, slugs, match=MATCH_ANY):
    """Whether the visitor is targeted by ``slugs`` (any or all of them)."""
    return segments is not None and segments.matches(slugs, match)


def choose_variant(segments, variants):
    """``(position, variant)`` of the ``Variant`` this visitor is shown; ``(0, None)``: default."""
    if segments is None:
        return 0, None
    shown, _ = segments.choose(variants)
    return shown, variants[shown - 1] if shown else None


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


def segments_to_render(state):
    """The ``SegmentSet`` content is rendered for; None for the default visitor.

    In the fragment cache mode the page gets the default content (in
    placeholders, see ``delivered``), and the fragment endpoint, rendering the
    same page for the visitor, collects what fills each placeholder.
    """
    if state is None:
        return None
    segments = state.segments
    if state.fragments is None and state.cache_mode == "fragments" and segments.forced is None:
        return None
    return segments


def delivered(state, html):
    """Personalised content's ``html`` as the page carries it (see ``segments_to_render``)."""
    if state is None:
        return html
    if state.fragments is not None:  # the fragment endpoint is rendering
        state.fragments.append(html)
        return html
    if state.cache_mode == "fragments" and state.segments.forced is None:
        state.placeholders += 1
        return format_html(
            '<div {}="{}" style="display: contents">{}</div>',
            FRAGMENT_ATTRIBUTE,
            state.placeholders - 1,
            html,
        )
    return html


def render_personalised(context, render_for, state=None):
    """Render content that depends on the visitor's segments.

    ``render_for(segments)`` renders for a ``SegmentSet``, or for the default
    visitor when given None.
    """
    state = state or state_from_context(context)
    return delivered(state, render_for(segments_to_render(state)))


def render_variant(block, value, context=None):
    """Render a ``PersonalisedBlock``: the visitor's variant, else the default.

    Each rendering for a visitor is recorded as an impression for the stats,
    and explained to the cockpit when an editor is looking. A page holds many
    personalised blocks: this is one straight path, and one ``choose``.
    """
    state = state_from_context(context)
    segments = segments_to_render(state)
    variants = block.variants(value)
    variant, explained = None, []
    if segments is not None:
        shown, counted = segments.choose(variants)
        variant = variants[shown - 1] if shown else None
        impression = make_impression(
            Impression,
            (
                page_id(context, state),
                block.name or "",
                counted,
                counted != shown,  # a holdout member is counted against the variant they miss
                variants[counted - 1].segments if counted else (),
            ),
        )
        state.impressions.append(impression)
        if state.is_editor:
            detail = (impression, tuple((v.segments, v.match) for v in variants))
            shown_to = variant is None or not variant.hide
            explain(state, Explained("variant", block.name, detail, shown_to), explained)
    if variant is None:
        html = block.child_block.render(value["default"], context)
    else:
        html = "" if variant.hide else block.child_block.render(variant.value, context)
    html = delivered(state, html)
    return marked(explained, html) if explained else html


def render_audience(block, value, context, render):
    """A block with an audience setting: ``render()``, or "" when it is not for the visitor."""
    audience = value.get("audience") or {}
    if not (audience.get("show_to") or audience.get("hide_from")):
        return render()
    state = state_from_context(context)
    explained = []

    def render_for(segments):
        allowed = audience_allows(segments, audience)
        if segments is not None and state.is_editor:
            explain(state, Explained("audience", block.name, audience, allowed), explained)
        return render() if allowed else ""

    return marked(explained, render_personalised(context, render_for, state))


def explain_segment_tag(context, slugs, match, matched):
    """Tell the cockpit about a ``{% segment %}`` tag rendered for an editor."""
    state = state_from_context(context)
    if state is not None and state.is_editor:
        explain(state, Explained("segment tag", "", (tuple(slugs), match), matched))


def explain(state, explanation, numbers=None):
    """Keep ``explanation`` for the cockpit (an editor is looking); note its number."""
    state.explained.append(explanation)
    if numbers is not None:
        numbers.append(len(state.explained) - 1)


def marked(numbers, html):
    """The block's HTML marked with its explanation's number, for the cockpit's "Show"."""
    if not numbers:
        return html
    return format_html(
        '<div data-segments-block="{}" style="display: contents">{}</div>', numbers[0], html
    )


def page_id(context, state):
    """The id of the page being rendered (the context's ``page``, else the page viewed).

    Asked once per personalised block, about the same page: its id is kept on
    the state (``page.pk`` of a specific page takes several Python calls).
    """
    page = context.get("page") if context else None
    if page is None:
        return state.page_id
    rendered = state.rendered_page
    if rendered is None or rendered[0] is not page:
        rendered = state.rendered_page = (page, getattr(page, "pk", None))
    return rendered[1] or state.page_id
