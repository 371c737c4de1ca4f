"""The visitor's country: from a header a trusted proxy sets, else a GeoIP2 database.

Only the two-letter code is used, for the duration of the request; the IP
address is never stored.
"""

from functools import lru_cache

from django.core.exceptions import ImproperlyConfigured

from .conf import segments_settings

UNKNOWN_CODES = {"", "XX", "T1", "A1", "A2", "O1"}  # placeholders CDNs send for "unknown"


def request_country(request):
    """The visitor's ISO 3166 country code in upper case, or "" when unknown."""
    described = getattr(request, "described_country", None)  # the admin's segment tester
    if described is not None:
        return described
    header = segments_settings.COUNTRY_HEADER
    if header:
        code = request.headers.get(header, "").strip().upper()
        if len(code) == 2 and code.isalpha() and code not in UNKNOWN_CODES:
            return code
    if segments_settings.GEOIP_DATABASE:
        return _lookup(request.META.get("REMOTE_ADDR", ""))
    return ""


def _lookup(address):
    import geoip2.errors

    try:
        response = geoip_reader(segments_settings.GEOIP_DATABASE).country(address)
    except (geoip2.errors.AddressNotFoundError, ValueError):
        return ""
    return (response.country.iso_code or "").upper()


@lru_cache(maxsize=2)
def geoip_reader(path):
    try:
        import geoip2.database
    except ImportError as error:
        raise ImproperlyConfigured(
            "WAGTAIL_SEGMENTS['GEOIP_DATABASE'] needs the geoip2 package: "
            "pip install 'wagtail-segments[geoip]'"
        ) from error
    return geoip2.database.Reader(path)
