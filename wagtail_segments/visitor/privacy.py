"""Who may be tracked, and whether anything may be written.

Request-time rules work for everyone; a profile is only *written* for a
visitor who consented (when consent is configured) and sent no Global Privacy
Control or Do Not Track signal. Bots, link-preview fetchers, HEAD requests and
prefetches are neither tracked nor scored at all.
"""

from django.utils.module_loading import import_string

from ..conf import segments_settings
from ..useragent import is_bot

NO = {"", "0", "false", "no", "off"}


def is_trackable(request):
    """A real visit by a person: not a bot, not a HEAD request, not a prefetch."""
    if request.method not in ("GET", "POST"):
        return False
    purpose = request.headers.get("Sec-Purpose", "") or request.headers.get("Purpose", "")
    if "prefetch" in purpose.lower():
        return False
    return not is_bot(request.headers.get("User-Agent", ""))


def has_consent(request):
    cookie = segments_settings.CONSENT_COOKIE
    check = segments_settings.CONSENT_CHECK
    if cookie and request.COOKIES.get(cookie, "").strip().lower() in NO:
        return False
    return not check or bool(import_string(check)(request))


def opted_out(request):
    return (segments_settings.RESPECT_GPC and request.headers.get("Sec-GPC") == "1") or (
        segments_settings.RESPECT_DNT and request.headers.get("DNT") == "1"
    )


def may_store(request):
    """Whether this visitor's profile may be written (cookie, cache or database)."""
    return is_trackable(request) and has_consent(request) and not opted_out(request)
