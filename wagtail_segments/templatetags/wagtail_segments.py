"""Template tags: ``{% segment %}`` blocks, the ``in_segment`` filter and the front-end script.

{% load wagtail_segments %}
{% segment "students" "graduates" %}…{% else %}…{% endsegment %}
{% segment "investors" "newsletter" match="all" %}…{% endsegment %}
{% if request|in_segment:"investors" %}…{% endif %}
"""

from django import template
from django.templatetags.static import static
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from wagtail.models import Page

from ..caching import mode
from ..conf import URLS_MODULE, segments_settings
from ..current import visitor_state
from ..experiences import CANONICAL_CONTEXT_NAME
from ..log import log_once
from ..placements import render_placements
from ..rendering import MATCH_ALL, MATCH_ANY, explain_segment_tag, matches, segments_from_context

register = template.Library()


class SegmentNode(template.Node):
    def __init__(self, slugs, match, nodelist_true, nodelist_false):
        self.slugs, self.match = slugs, match
        self.nodelist_true, self.nodelist_false = nodelist_true, nodelist_false

    def render(self, context):
        slugs = [slug.resolve(context) for slug in self.slugs]
        match = self.match.resolve(context) if self.match else MATCH_ANY
        matched = matches(segments_from_context(context), slugs, match)
        explain_segment_tag(context, slugs, match, matched)
        return (self.nodelist_true if matched else self.nodelist_false).render(context)


@register.tag("segment")
def do_segment(parser, token):
    """Render the content when the visitor is in any (or all) of the given segments."""
    tag_name, *bits = token.split_contents()
    match = None
    if bits and bits[-1].startswith("match="):
        match = parser.compile_filter(bits.pop()[len("match=") :])
        if match.is_var is False and match.resolve({}) not in (MATCH_ANY, MATCH_ALL):
            raise template.TemplateSyntaxError(f'{tag_name}: match must be "any" or "all".')
    if not bits:
        raise template.TemplateSyntaxError(f"{tag_name} needs at least one segment slug.")
    slugs = [parser.compile_filter(bit) for bit in bits]
    nodelist_true = parser.parse(("else", "endsegment"))
    nodelist_false = template.NodeList()
    if parser.next_token().contents == "else":
        nodelist_false = parser.parse(("endsegment",))
        parser.delete_first_token()
    return SegmentNode(slugs, match, nodelist_true, nodelist_false)


@register.filter
def in_segment(request, slug):
    """``request|in_segment:"slug"``: the visitor is targeted by that segment."""
    state = visitor_state(request)
    return matches(state.segments if state else None, [slug])


@register.simple_tag(takes_context=True)
def segments_script(context):
    """The front-end helpers: events; the fragment filler and the page-view beacon when on."""
    try:
        event_url = reverse("wagtail_segments:event")
    except NoReverseMatch:
        log_once("urls", "No segments script: the URLconf does not include %r", URLS_MODULE)
        return ""
    html = format_html(
        '<script src="{}" data-event-url="{}" defer></script>',
        static("wagtail_segments/js/events.js"),
        event_url,
    )
    if mode() == "fragments":
        html += format_html(
            '<script src="{}" data-fragments-url="{}" defer></script>',
            static("wagtail_segments/js/fragments.js"),
            reverse("wagtail_segments:fragments"),
        )
    page = served_page(context)
    if segments_settings.TRACKING == "beacon" and page is not None:
        html += format_html(
            '<script src="{}" data-beacon-url="{}" data-page="{}" defer></script>',
            static("wagtail_segments/js/beacon.js"),
            reverse("wagtail_segments:beacon"),
            page.pk,
        )
    return html


def served_page(context):
    """The page whose view the template shows: the page asked for when an experience serves it.

    None in a preview, which is no page view.
    """
    if getattr(context.get("request"), "is_preview", False):
        return None
    for name in (CANONICAL_CONTEXT_NAME, "page", "self"):
        page = context.get(name)
        if isinstance(page, Page) and page.pk:
            return page
    return None


@register.simple_tag(takes_context=True)
def placements(context, slot):
    """``{% placements "banner" %}``: the placements in that slot for the page being shown."""
    return render_placements(context, slot)
