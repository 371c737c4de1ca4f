"""Cache-safe personalised responses: the private, segment-keyed and fragment modes.

``CACHE_MODE = "private"`` (the default) marks a response that used
personalised content ``Cache-Control: private`` and ``Vary: Cookie``: no
shared cache stores it.

``CACHE_MODE = "segments"`` lets a shared cache keep one copy per combination
of the segments a page uses. Each response that used personalised content
teaches the cache which page it served and which segments it asked about
("learned" below). The next request for that URL records its page view
first, then judges just those segments and puts the answer in the request
header ``X-Wagtail-Segments``, which the response names in ``Vary`` (Django's
cache middleware keys on it). A cookie carries the same kind of key, over
every segment that content uses, for a CDN that keys on one cookie. A
response that sets a cookie, or whose rendering changed the answer, is
marked private instead, so no cache stores what another visitor may not get.

Every cookie of the package is set or deleted through ``cookies``, which
marks that response private in every mode: a cache that stored it would
replay one visitor's profile or id to everyone.

With ``TRACKING = "beacon"`` pages set neither cookie: the page's beacon
records the view and refreshes the segment-key cookie.
"""

import hashlib

from django.utils.cache import patch_vary_headers

from .conf import segments_cache, segments_settings
from .cookies import mark_private, set_cookie

SEGMENTS_HEADER = "X-Wagtail-Segments"
SEGMENTS_META = "HTTP_X_WAGTAIL_SEGMENTS"
LEARNED_KEY = "wagtail_segments:learned:{url}"
USED_EVERYWHERE_KEY = "wagtail_segments:used-everywhere"
NO_SEGMENTS = "none"


def mode():
    return segments_settings.CACHE_MODE


def key_cookie_name():
    return f"{segments_settings.COOKIE_NAME}_key"


def segments_key(segments, slugs):
    """A short, stable name for the visitor's answers about ``slugs``."""
    targeted = sorted(slug for slug in slugs if segments.is_targeted(slug))
    if not targeted:
        return NO_SEGMENTS
    return hashlib.sha256(",".join(targeted).encode()).hexdigest()[:16]


def _learned_key(request):
    url = hashlib.sha256(request.build_absolute_uri().encode()).hexdigest()
    return LEARNED_KEY.format(url=url)


def is_cacheable_request(request):
    return request.method in ("GET", "HEAD")


def before_view(request, state):
    """Segment-keyed mode, before the cache lookup: record the page view, set the header.

    (In beacon tracking the page's beacon records the view.)
    """
    if not is_cacheable_request(request):
        return
    learned = segments_cache().get(_learned_key(request))
    if learned is None:
        return
    from wagtail_segments.visitor.visits import (
        record_once,  # visits needs the middleware, which needs this module
    )

    page_id, slugs = learned
    record_once(state, page_id)
    request.META[SEGMENTS_META] = segments_key(state.segments, slugs)


def after_view(request, response, state, sets_cookie):
    """Segment-keyed mode: name the key in ``Vary`` and teach the cache what the page used."""
    segments = state.segments
    slugs = frozenset(segments.asked)
    if not is_cacheable_request(request) or state.page_id is None:
        mark_private(response)
        return
    cache = segments_cache()
    learned = (state.page_id, slugs)
    if cache.get(_learned_key(request)) != learned:
        cache.set(_learned_key(request), learned, None)
    used_everywhere = cache.get(USED_EVERYWHERE_KEY) or frozenset()
    if not slugs <= used_everywhere:
        used_everywhere = used_everywhere | slugs
        cache.set(USED_EVERYWHERE_KEY, used_everywhere, None)
    # In beacon tracking the beacon refreshes a stale key cookie; the page is kept private.
    stale_cookie = refresh_key_cookie(request, response, state, used_everywhere)
    answered = request.META.get(SEGMENTS_META)
    if sets_cookie or stale_cookie or answered != segments_key(segments, slugs):
        # Rendered for answers other than those the cache looked up: keep it out.
        mark_private(response)
    else:
        patch_vary_headers(response, (SEGMENTS_HEADER,))


def refresh_key_cookie(request, response, state, used_everywhere=None):
    """Set the segment-key cookie when it no longer names the visitor's answers; True then.

    A page in beacon tracking (``state.beacon_page``) sets no cookie: it only says so.
    """
    # The key names the visitor's segments: a cookie for personalisation, so it waits
    # for consent like the profile (a visitor without one is keyed by nothing).
    if not state.may_store:
        return False
    if used_everywhere is None:
        used_everywhere = segments_cache().get(USED_EVERYWHERE_KEY) or frozenset()
    cookie_key = segments_key(state.segments, used_everywhere)
    if request.COOKIES.get(key_cookie_name()) == cookie_key:
        return False
    if not state.beacon_page:
        set_cookie(
            request, response, key_cookie_name(), cookie_key, segments_settings.COOKIE_MAX_AGE
        )
    return True
