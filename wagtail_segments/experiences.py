"""Page-level experiences: another page's content at this page's URL, for a segment.

The ``before_serve_page`` hook below serves the first experience (in editor
order) whose segment targets the visitor. The alternate page must be live,
and the privacy settings of both pages must let the visitor in; otherwise
the next experience, or the page itself, is served. The response names the
page's own URL as canonical, so search engines keep one address.
"""

from django.template.response import TemplateResponse
from wagtail.models import Page

from .current import visitor_state
from .engine import load_definitions

CANONICAL_CONTEXT_NAME = "experience_of"


def lets_in(page, request):
    return all(restriction.accept_request(request) for restriction in page.get_view_restrictions())


def serve_experience(page, request, serve_args, serve_kwargs):
    state = visitor_state(request)
    if state is None or request.method not in ("GET", "HEAD"):
        return None
    experiences = load_definitions().experiences.get(page.pk)  # the profile is not needed yet
    if not experiences or not lets_in(page, request):
        return None
    for slug, alternate_id in experiences:
        if not state.segments.is_targeted(slug):
            continue
        alternate = Page.objects.live().filter(pk=alternate_id).specific().first()
        if alternate is None or not lets_in(alternate, request):
            continue
        response = alternate.serve(request, *serve_args, **serve_kwargs)
        if isinstance(response, TemplateResponse) and response.context_data is not None:
            response.context_data[CANONICAL_CONTEXT_NAME] = page
        response["Link"] = f'<{page.get_full_url(request)}>; rel="canonical"'
        return response
    return None
