"""Visits and page views: what the ``before_serve_page`` hook records."""

from datetime import timedelta

from django.utils import timezone

from .conf import segments_settings
from .middleware import visitor_state
from .parsing import url_host
from .profile import UTM_PARAMETERS, unix
from .scoring import score_page_view


def external_referrer(request):
    """The Referer header when it points to another site, else ""."""
    referrer = request.headers.get("Referer", "")
    host = url_host(referrer)
    own_host = request.get_host().split(":")[0].lower()
    return referrer if host and host != own_host else ""


def utm_parameters(request):
    return {
        name: request.GET[f"utm_{name}"]
        for name in UTM_PARAMETERS
        if request.GET.get(f"utm_{name}")
    }


def is_new_visit(profile, now):
    if profile.visits == 0:
        return True
    timeout = timedelta(minutes=segments_settings.VISIT_TIMEOUT_MINUTES).total_seconds()
    return unix(now) - profile.last_seen > timeout


def record_page_view(request, page_id, profile, scoring, now=None):
    """Count a page view and give its interest points, starting a visit when due.

    A visit starts after VISIT_TIMEOUT_MINUTES without page views; its
    landing page, external referrer and UTM parameters are kept until the
    next. A page gives its points once per visit, so reloads add nothing.
    """
    now = now or timezone.now()
    new_visit = is_new_visit(profile, now)
    if new_visit:
        profile.start_visit(
            now,
            landing_page=page_id,
            referrer=external_referrer(request),
            utm=utm_parameters(request),
        )
    if profile.record_pageview(page_id, now):
        score_page_view(profile, scoring, page_id, new_visit, now)


def record_once(state, page_id):
    """Record the view of ``page_id`` for this request, unless already recorded."""
    if state.page_id == page_id:
        return
    state.page_id = page_id
    if state.trackable:
        record_page_view(state.request, page_id, state.profile, state.segments.definitions.scoring)


def track_page_view(page, request, serve_args=None, serve_kwargs=None):
    """The ``before_serve_page`` hook: record the view of a page being served."""
    state = visitor_state(request)
    if state is None:
        return
    state.segments.page = page
    record_once(state, page.pk)
