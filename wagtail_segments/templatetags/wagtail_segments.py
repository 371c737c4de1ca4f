from django import template
from django.middleware.csrf import get_token
from django.templatetags.static import static
from django.urls import reverse
from django.utils.html import format_html

register = template.Library()


@register.simple_tag(takes_context=True)
def segments_script(context):
    """The front-end event helper, with its endpoint and a CSRF cookie for it."""
    request = context.get("request")
    if request is not None:
        get_token(request)
    return format_html(
        '<script src="{}" data-event-url="{}" defer></script>',
        static("wagtail_segments/js/events.js"),
        reverse("wagtail_segments:event"),
    )
