"""Public endpoints: front-end events, page-view beacons, the visitor's segments, fragments,
erasing a profile."""

import json
import re
from urllib.parse import unquote

from django.conf import settings
from django.http import Http404, HttpResponse, HttpResponseRedirect, JsonResponse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST
from wagtail.models import Page

from . import caching
from .conf import segments_cache, segments_settings
from .current import visitor_state
from .experiences import lets_in
from .log import log_once
from .parsing import query_parameters, served_page_path, url_host, whole_number
from .visitor.editors import is_editor, set_view_as, stop_view_as
from .visitor.profile import MAX_PAGE_ID
from .visitor.visits import Landing, record_beacon

EVENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,39}$")
SEGMENT_SLUG = re.compile(r"^[-A-Za-z0-9_]{1,100}$")
MAX_BODY_BYTES = 1024
MAX_EVENT_COUNT = 100
RATE_WINDOW_SECONDS = 60
MAX_URL_LENGTH = 2000  # a page's location.search and document.referrer
MAX_BEACON_BYTES = 16 * 1024  # a page id and the two, form-encoded


def _error(status, message):
    return JsonResponse({"error": message}, status=status)


def _private(data):
    """A JSON answer about this visitor that no cache may keep."""
    response = JsonResponse(data)
    add_never_cache_headers(response)
    return response


def _cross_site(request):
    """A browser's own label of a request another site's page made."""
    return request.headers.get("Sec-Fetch-Site") == "cross-site"


def _rate_limited(profile):
    """Count this call against the visitor's per-minute allowance; True when over it.

    Without a reachable cache the allowance cannot be counted: events are let through.
    """
    cache = segments_cache()
    window = int(timezone.now().timestamp()) // RATE_WINDOW_SECONDS
    key = f"wagtail_segments:events:{profile.visitor_id}:{window}"
    try:
        cache.add(key, 0, RATE_WINDOW_SECONDS * 2)
        try:
            calls = cache.incr(key)
        except ValueError:  # expired between add and incr
            calls = 1
    except Exception:
        log_once("rate-cache", "wagtail_segments cannot count events in its cache", exc_info=True)
        return False
    return calls > segments_settings.EVENTS_PER_MINUTE


def parse_event(body):
    """The (name, count) of a JSON event body; raise ``ValueError`` naming the problem."""
    if len(body) > MAX_BODY_BYTES:
        raise ValueError(f"The body is over {MAX_BODY_BYTES} bytes.")
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ValueError("The body is not JSON.") from None
    if not isinstance(data, dict) or set(data) - {"event", "count"}:
        raise ValueError('Send a JSON object with "event" and optionally "count".')
    name, count = data.get("event"), data.get("count", 1)
    if not isinstance(name, str) or not EVENT_NAME.match(name):
        raise ValueError(
            '"event" must be 1 to 40 letters, digits or _.:- and start with a letter or digit.'
        )
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_EVENT_COUNT:
        raise ValueError(f'"count" must be a whole number from 1 to {MAX_EVENT_COUNT}.')
    return name, count


@csrf_exempt
@require_POST
def track_event_view(request):
    """Record a front-end event: ``POST {"event": "newsletter-signup", "count": 1}``.

    CSRF tokens are not needed, so cached pages need no per-visitor token:
    only ``application/json`` is accepted, which a browser sends across
    sites only after a CORS preflight this endpoint never grants, and a
    browser's own cross-site label (``Sec-Fetch-Site``) is refused outright.
    """
    state = visitor_state(request)
    if state is None:
        return _error(404, "Personalisation is not enabled for this path.")
    if _cross_site(request):
        return _error(403, "Events are accepted from this site's own pages only.")
    if len(request.body) > MAX_BODY_BYTES:
        return _error(413, f"The body is over {MAX_BODY_BYTES} bytes.")
    if request.content_type != "application/json":
        return _error(415, "Send the event as application/json.")
    try:
        name, count = parse_event(request.body)
    except ValueError as error:
        return _error(400, str(error))
    if not state.trackable:
        return JsonResponse({"recorded": False})
    # Only a stored profile's id can be counted against (and nothing is written for others).
    if state.may_store and _rate_limited(state.profile):
        return _error(429, "Too many events; try again in a minute.")
    state.profile.track_event(name, count, timezone.now())
    state.events.append(name)
    return JsonResponse({"recorded": state.may_store, "event": name, "count": count})


def parse_landing(data):
    """The ``Landing`` a page's script sends (``search``, ``referrer``); raise ``ValueError``.

    ``search`` is the page's ``location.search`` and ``referrer`` its
    ``document.referrer``, each at most MAX_URL_LENGTH characters. A
    referrer that names no host (none, or no URL) counts as none.
    """
    search, referrer = data.get("search", ""), data.get("referrer", "")
    for name, text in (("search", search), ("referrer", referrer)):
        if len(text) > MAX_URL_LENGTH:
            raise ValueError(f'"{name}" is over {MAX_URL_LENGTH:,} characters.')
        if "\x00" in text:
            raise ValueError(f'"{name}" contains a NUL character.')
    query = query_parameters(search)
    if query is None:
        raise ValueError(
            '"search" must be the page\'s location.search: empty, or "?" and at most '
            f"{settings.DATA_UPLOAD_MAX_NUMBER_FIELDS:,} parameters."
        )
    return Landing(query, referrer if url_host(referrer) else "")


def parse_beacon(data):
    """The page id and ``Landing`` of a beacon's form; raise ``ValueError`` naming the problem."""
    page_id = whole_number(data.get("page", ""), MAX_PAGE_ID)
    if not page_id:
        raise ValueError(f'"page" must be a page id, a whole number from 1 to {MAX_PAGE_ID:,}.')
    return page_id, parse_landing(data)


@csrf_exempt
@require_POST
def beacon_view(request):
    """Record the view of a page: ``POST page=12&search=?utm_campaign=x&referrer=https://…``.

    With ``TRACKING = "beacon"`` a page records nothing while it is served,
    so that a cache can give it to everyone; ``{% segments_script %}`` sends
    this beacon from the page instead, with its ``location.search`` and
    ``document.referrer``. The view is recorded as the page's own request
    would have recorded it, and the profile (and in the segment-keyed cache
    mode the segment-key cookie) is saved with this answer, which no cache
    keeps. As for events, cross-site requests are refused.
    """
    state = visitor_state(request)
    if state is None:
        return _error(404, "Personalisation is not enabled for this path.")
    if segments_settings.TRACKING != "beacon":
        return _error(404, 'Pages record their own views here: TRACKING is not "beacon".')
    if _cross_site(request):
        return _error(403, "Beacons are accepted from this site's own pages only.")
    if len(request.body) > MAX_BEACON_BYTES:
        return _error(413, f"The body is over {MAX_BEACON_BYTES:,} bytes.")
    try:
        page_id, landing = parse_beacon(request.POST)
    except ValueError as error:
        return _error(400, str(error))
    # Of its own type, as rules about the page see it when it is served (no added query);
    # the tree's root is no page anyone views.
    page = Page.objects.live().filter(pk=page_id, depth__gt=1).specific(defer=True).first()
    if page is None or not lets_in(page, request):
        return _error(404, "No live page open to this visitor has that id.")
    response = HttpResponse(status=204)
    del response["Content-Type"]  # no content
    add_never_cache_headers(response)
    if state.may_store:  # consent, Do Not Track, Global Privacy Control; no bots
        record_beacon(state, page, landing)
        if state.cache_mode == "segments":
            caching.refresh_key_cookie(request, response, state)
    return response


@require_POST
def erase_profile_view(request):
    """Forget everything the site remembers of this visitor.

    A form may post ``next`` (a URL on this site) to return the visitor
    there; otherwise the answer is JSON.
    """
    state = visitor_state(request)
    next_url = request.POST.get("next", "")
    if next_url and url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        response = HttpResponseRedirect(next_url)
    else:
        response = JsonResponse({"erased": True})
    if state is not None:
        state.erase(response)
    return response


@require_GET
def segments_view(request):
    """The visitor's segments, for a decoupled front-end: ``GET → {"segments": [...]}``.

    Lists the segments whose content targets the visitor (members outside
    the holdout), in priority order, and those where the visitor is held out.
    """
    state = visitor_state(request)
    if state is None:
        return _error(404, "Personalisation is not enabled for this path.")
    segments = state.segments
    members = list(segments)
    return _private(
        {
            "segments": [
                {"slug": segment.slug, "name": segment.name}
                for segment in members
                if segments.is_targeted(segment.slug)
            ],
            "held_out": [s.slug for s in members if segments.is_held_out(s.slug)],
        }
    )


@require_GET
def fragments_view(request):
    """The personalised blocks of a page, for the fragment cache mode.

    ``GET ?path=/some/page/&search=?utm_campaign=x&referrer=https://…``
    serves that page for this visitor as a request for that path would be
    (URL resolution, Wagtail's routing, privacy, live content only), with
    the query string and Referer the visitor landed on it with (the page's
    ``location.search`` and ``document.referrer``), collecting the HTML of
    each personalised block in page order: ``{"fragments": ["<div>…", …]}``.
    The view of the page is recorded here, not on the cached page.
    """
    state = visitor_state(request)
    if state is None:
        return _error(404, "Personalisation is not enabled for this path.")
    path = request.GET.get("path", "")
    if not path.startswith("/") or path.startswith("//") or len(path) > MAX_URL_LENGTH:
        return _error(400, "Give the page's path, starting with a single /.")
    try:
        landing = parse_landing(request.GET)
    except ValueError as error:
        return _error(400, str(error))
    page_path = served_page_path(unquote(path))
    if page_path is None:  # no request for this path could reach a page
        return _error(404, "No live page has that path.")
    serve_as_landed(request, landing)
    state.fragments = []
    try:
        response = page_path.func(request, *page_path.args, **page_path.kwargs)
    except Http404:
        return _error(404, "No live page has that path.")
    if hasattr(response, "render"):
        response.render()
    if response.status_code != 200 or not isinstance(response, HttpResponse):
        return _error(403, "That page is not open to this visitor.")
    return _private({"fragments": state.fragments})


def serve_as_landed(request, landing):
    """Give the request the query string and Referer of the page view it stands for."""
    request.GET = landing.query
    request.META["QUERY_STRING"] = landing.query.urlencode()
    if landing.referrer:
        request.META["HTTP_REFERER"] = landing.referrer
    else:
        request.META.pop("HTTP_REFERER", None)


def _back(request):
    """A redirect to the form's ``next`` (a URL on this site), else to the home page."""
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = "/"
    return HttpResponseRedirect(next_url)


@require_POST
def view_as_view(request):
    """An editor views the site as members of the posted ``segment`` slugs; ``stop`` ends it."""
    if not is_editor(request):
        return _error(403, "Only users who may view segments can view the site as a segment.")
    response = _back(request)
    slugs = request.POST.getlist("segment")
    if "stop" in request.POST or not slugs:
        stop_view_as(response)
    elif len(slugs) > 50 or not all(SEGMENT_SLUG.match(slug) for slug in slugs):
        return _error(400, "Choose up to 50 segments by their slugs.")
    else:
        set_view_as(request, response, slugs)
    return response
