"""Visits and page views: what the ``before_serve_page`` hook, or the beacon, records."""

from datetime import timedelta
from typing import NamedTuple

from django.http import QueryDict
from django.utils import timezone

from ..conf import segments_settings
from ..current import visitor_state
from ..parsing import url_host
from ..scoring import score_page_view
from .profile import UTM_PARAMETERS, unix


class Landing(NamedTuple):
    """Where a page view came from: its URL's query and the referrer the browser gave.

    A page requested directly brings its own (``landing_of``); a page served
    from a cache sends them in its beacon.
    """

    query: QueryDict
    referrer: str


def landing_of(request):
    return Landing(request.GET, request.headers.get("Referer", ""))


def external_referrer(referrer, own_host):
    """``referrer`` when it points to a site other than ``own_host``, else ""."""
    host = url_host(referrer)
    return referrer if host and host != own_host else ""


def utm_parameters(query):
    return {name: query[f"utm_{name}"] for name in UTM_PARAMETERS if query.get(f"utm_{name}")}


def is_new_visit(profile, now):
    if profile.visits == 0:
        return True
    timeout = timedelta(minutes=segments_settings.VISIT_TIMEOUT_MINUTES).total_seconds()
    return unix(now) - profile.last_seen > timeout


def record_page_view(request, page_id, profile, scoring, landing, now=None):
    """Count a page view and give its interest points, starting a visit when due.

    A visit starts after VISIT_TIMEOUT_MINUTES without page views; its
    landing page, external referrer and UTM parameters (from ``landing``)
    are kept until the next. A page gives its points once per visit, so
    reloads add nothing.
    """
    now = now or timezone.now()
    new_visit = is_new_visit(profile, now)
    if new_visit:
        own_host = request.get_host().split(":")[0].lower()
        profile.start_visit(
            now,
            landing_page=page_id,
            referrer=external_referrer(landing.referrer, own_host),
            utm=utm_parameters(landing.query),
        )
    if profile.record_pageview(page_id, now):
        score_page_view(profile, scoring, page_id, new_visit, now)


def records_views_here(state):
    """Whether this request records the view of the page it serves.

    With ``TRACKING = "beacon"`` a page's own request records nothing (a
    cache may serve it to others): its beacon does, or in the fragment cache
    mode the fragment request, which is this visitor's own too.
    """
    return segments_settings.TRACKING == "request" or state.fragments is not None


def record_once(state, page_id):
    """Record the view of ``page_id`` for this request, unless already recorded."""
    if state.page_id == page_id:
        return
    state.page_id = page_id
    if not records_views_here(state):
        state.beacon_page = True
    elif state.trackable:
        _record(state, page_id, landing_of(state.request))


def record_beacon(state, page, landing):
    """Record the view of ``page`` its beacon reports, with the page's landing context."""
    state.serve_page(page)
    state.page_id = page.pk
    if state.trackable:
        _record(state, page.pk, landing)


def _record(state, page_id, landing):
    scoring = state.segments.definitions.scoring
    record_page_view(state.request, page_id, state.profile, scoring, landing)


def track_page_view(page, request, serve_args=None, serve_kwargs=None):
    """The ``before_serve_page`` hook: record the view of a page being served."""
    state = visitor_state(request)
    if state is None:
        return
    state.serve_page(page)
    record_once(state, page.pk)
