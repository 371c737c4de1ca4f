"""Placements: reusable personalised content shown on chosen pages and page types."""

from django.utils.html import format_html_join

from .rendering import state_from_context


def placements_for(state, slot, page):
    """The stored content of each enabled placement in ``slot`` that applies to ``page``."""
    from .engine import load_definitions

    definitions = state.segments.definitions if state is not None else load_definitions()
    return [
        placement.content
        for placement in definitions.placements.get(slot, ())
        if page is not None and placement.applies_to(page)
    ]


def placement_stream_block():
    from .models import Placement

    return Placement._meta.get_field("content").stream_block


def slugs_placed_on(page):
    """The segment slugs the placements applying to ``page`` (in any slot) depend on."""
    from .engine import load_definitions
    from .streams import personalised_slugs

    stream_block = placement_stream_block()
    slugs = set()
    for placements in load_definitions().placements.values():
        for placement in placements:
            if placement.applies_to(page):
                value = stream_block.to_python(placement.content)
                slugs.update(personalised_slugs(stream_block, value))
    return slugs


def render_placements(context, slot):
    stream_block = placement_stream_block()
    rendered = (
        stream_block.render(stream_block.to_python(content), context.flatten())
        for content in placements_for(state_from_context(context), slot, context.get("page"))
    )
    return format_html_join(
        "",
        '<div class="segments-placement" data-placement="{}">{}</div>',
        ((slot, html) for html in rendered),
    )
