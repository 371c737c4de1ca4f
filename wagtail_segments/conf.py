"""Settings of wagtail_segments, read from the ``WAGTAIL_SEGMENTS`` dict.

Every key and its default lives in ``DEFAULTS``; ``docs/reference/settings.md``
documents each one. Read them as ``segments_settings.NAME``: the merged values
are cached and refreshed when ``override_settings`` changes them.
"""

from django.conf import settings
from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.urls import NoReverseMatch, reverse

MIDDLEWARE_PATH = "wagtail_segments.middleware.SegmentsMiddleware"
URLS_MODULE = "wagtail_segments.urls"

CACHE_MODES = ("private", "segments", "fragments")
TRACKING_MODES = ("request", "beacon")

DEFAULTS = {
    # Cache alias holding compiled segment definitions (and the cache store).
    "CACHE_ALIAS": "default",
    # A process asks that cache whether another process changed the segments at most
    # this often (changes made in the process itself apply at once); 0: on every request.
    "DEFINITIONS_RECHECK_SECONDS": 1,
    # Interest scores halve after this many days without new points; None: never decay.
    "SCORE_HALF_LIFE_DAYS": 30,
    # Where profiles live: "cookie" (signed, in the visitor's browser), "cache" or "database".
    "PROFILE_STORE": "cookie",
    # Where logged-in users' profiles live so they follow them across devices:
    # "cache", "database", or None to keep them in PROFILE_STORE like everyone's.
    "USER_PROFILE_STORE": None,
    # The cookie holding the profile (cookie store) or the visitor id (server-side stores).
    "COOKIE_NAME": "wagtail_segments",
    "COOKIE_MAX_AGE": 365 * 24 * 60 * 60,
    # Minutes without a page view after which the next page view starts a new visit.
    "VISIT_TIMEOUT_MINUTES": 30,
    # Consent: nothing is written until this cookie is present (and not "0"/"false"/"no")...
    "CONSENT_COOKIE": None,
    # ...or until this callable (dotted path, takes the request) returns True.
    "CONSENT_CHECK": None,
    # Honour the visitor's Global Privacy Control and Do Not Track signals.
    "RESPECT_GPC": True,
    "RESPECT_DNT": True,
    # Front-end events one visitor may send per minute to the event endpoint.
    "EVENTS_PER_MINUTE": 30,
    # Request header a trusted proxy or CDN fills with the visitor's ISO country code
    # (e.g. "CF-IPCountry", "CloudFront-Viewer-Country"); None: no header is trusted.
    "COUNTRY_HEADER": None,
    # Path of a MaxMind GeoIP2/GeoLite2 Country database (needs the ``geoip`` extra),
    # used when no trusted header gives the country. Only the country is kept, never the IP.
    "GEOIP_DATABASE": None,
    # How responses that used personalised content meet shared caches (docs: caching):
    # "private" (never stored), "segments" (one copy per combination of the segments
    # a page uses) or "fragments" (one copy for all; a script fills in the blocks).
    "CACHE_MODE": "private",
    # Who records a page view: "request" (the page's own request, before it renders) or
    # "beacon" (a small request the page's script sends: pages set no cookie, for CDNs).
    "TRACKING": "request",
    # Count members, page views, impressions and goal conversions (reports in the admin).
    "STATS": True,
    # Count users who may use Wagtail's admin (the site's editors) when they browse the site.
    "STATS_COUNT_EDITORS": False,
    # Each process writes its counts to the database this often, off the request path.
    "STATS_FLUSH_SECONDS": 10,
    # The prune_segment_stats command deletes daily stats older than this many days.
    "STATS_RETENTION_DAYS": 400,
    # Path prefixes the middleware leaves alone (the admin, STATIC_URL and MEDIA_URL always).
    "EXCLUDE_PATHS": [],
}


def problems(user_settings):
    """Explain what is wrong with a ``WAGTAIL_SEGMENTS`` value, if anything."""
    if not isinstance(user_settings, dict):
        return [f"WAGTAIL_SEGMENTS must be a dict, not {type(user_settings).__name__}."]
    unknown = sorted(set(user_settings) - set(DEFAULTS))
    if unknown:
        return [
            f"Unknown WAGTAIL_SEGMENTS setting(s): {', '.join(unknown)}. "
            f"Known settings: {', '.join(sorted(DEFAULTS))}."
        ]
    for name, choices in (("CACHE_MODE", CACHE_MODES), ("TRACKING", TRACKING_MODES)):
        value = user_settings.get(name, DEFAULTS[name])
        if value not in choices:
            return [
                f"WAGTAIL_SEGMENTS[{name!r}] is {value!r}; "
                f"use one of {', '.join(map(repr, choices))}."
            ]
    return []


def public_urls_included():
    """Whether the project's URLconf includes ``wagtail_segments.urls`` (events, cockpit forms)."""
    try:
        reverse("wagtail_segments:view_as")
    except NoReverseMatch:
        return False
    return True


class SegmentsSettings:
    _values = None

    def __getattr__(self, name):
        if name not in DEFAULTS:
            raise AttributeError(f"wagtail_segments has no setting {name!r}")
        if self._values is None:
            user_settings = getattr(settings, "WAGTAIL_SEGMENTS", None) or {}
            errors = problems(user_settings)
            if errors:
                raise ImproperlyConfigured(errors[0])
            self._values = {**DEFAULTS, **user_settings}
        return self._values[name]

    def reload(self):
        self._values = None


segments_settings = SegmentsSettings()


def segments_cache():
    """Django's cache that the package's processes share (the ``CACHE_ALIAS`` setting)."""
    return caches[segments_settings.CACHE_ALIAS]


@receiver(setting_changed)
def _reload_on_change(*, setting, **kwargs):
    if setting == "WAGTAIL_SEGMENTS":
        segments_settings.reload()
