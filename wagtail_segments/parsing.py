"""Reading text a visitor or an editor sent: each reader answers a value or a blank, never raises.

Headers, cookies, query strings and form fields are the visitor's (or the
editor's) to write, and so is whatever the package stored from them. These
readers are where such text becomes a host, a number or a page, so that a
malformed one fails closed instead of breaking the page, and where text no
database can store (NUL, a lone surrogate) is found before it is stored.
"""

from urllib.parse import urlsplit

from django.core.exceptions import TooManyFieldsSent
from django.http import QueryDict
from django.urls import Resolver404, resolve

WAGTAIL_SERVE = "wagtail_serve"


def url_host(url):
    """The lower-cased host of ``url``, or "" when it has none or is no URL Python can parse.

    ``urlsplit`` raises ``ValueError`` for an unclosed "[" or a bad IPv6
    address, which a referrer cut to its stored length can end with.
    """
    try:
        return (urlsplit(url).hostname or "").lower()
    except (TypeError, ValueError):
        return ""


def query_parameters(search):
    """The parameters of ``search`` (``location.search``: "" or "?a=1&b=2"), or None.

    None when ``search`` is no query string or Django's parser refuses it
    (more fields than ``DATA_UPLOAD_MAX_NUMBER_FIELDS``), as it would refuse
    the URL of a request.
    """
    if not isinstance(search, str) or (search and not search.startswith("?")):
        return None
    try:
        return QueryDict(search[1:])
    except TooManyFieldsSent:
        return None


def json_depth(value):
    """How many lists and objects ``value`` (parsed JSON) nests: 0 for a scalar, 1 for ``[]``.

    Walked without recursion, since Python's JSON parser gives up at a nesting
    depth that differs between versions (about 1,000 on 3.11, far more on 3.13).
    """
    deepest, pending = 0, [(value, 0)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict):
            value = list(value.values())
        if isinstance(value, list):
            deepest = max(deepest, depth + 1)
            pending.extend((item, depth + 1) for item in value)
    return deepest


UNSTORABLE = "with a NUL character or a lone surrogate (databases cannot store it)"


def is_storable(text):
    """Whether a database can store ``text``: PostgreSQL refuses NUL, UTF-8 a lone surrogate."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate, which a JSON escape ("\ud800") can make
        return False
    return "\x00" not in text


def shape_problems(value, where="", max_depth=None):
    """Text no database stores and nesting deeper than ``max_depth`` in ``value`` (parsed JSON).

    One walk, without recursion, in document order; each problem names its
    place, starting from ``where`` (a whole document when "").
    """
    problems = []
    pending = [(value, where, 1)]
    while pending:
        value, place, depth = pending.pop()
        if max_depth is not None and depth > max_depth:
            problems.append(f"{place}: nested deeper than {max_depth} levels.")
        elif isinstance(value, dict):
            for key, item in reversed(value.items()):
                if not is_storable(str(key)):
                    problems.append(f"{place or 'document'}: a name {UNSTORABLE}.")
                else:
                    pending.append((item, f"{place}.{key}" if place else str(key), depth + 1))
        elif isinstance(value, list):
            pending.extend(
                (item, f"{place}[{number}]", depth + 1)
                for number, item in reversed(list(enumerate(value)))
            )
        elif isinstance(value, str) and not is_storable(value):
            problems.append(f"{place or 'document'}: text {UNSTORABLE}.")
    return problems


def whole_number(text, maximum):
    """The number written in ASCII digits by ``text``, from 0 to ``maximum``, else None.

    ``str.isdigit`` is true of "²" and "٣", which ``int`` refuses or reads;
    a number longer than ``maximum`` is refused before it is converted.
    """
    if not isinstance(text, str) or not (text.isascii() and text.isdigit()):
        return None
    if len(text.lstrip("0")) > len(str(maximum)):
        return None
    number = int(text)
    return number if number <= maximum else None


def served_page_path(path):
    """How Django resolves a request for ``path`` to Wagtail's ``serve`` view, or None.

    ``path`` is decoded, as a request's ``path_info`` (``unquote`` a browser's
    ``location.pathname``). A path no request could reach a page by (a NUL
    byte, a path of the admin) gives None.
    """
    try:
        match = resolve(path)
    except Resolver404:
        return None
    return match if match.url_name == WAGTAIL_SERVE else None


def clipped_url(url, limit):
    """``url`` cut to ``limit`` characters, or "" when the cut no longer parses as a URL.

    A cut can leave a host's "[" unclosed; storing that would break every
    later reading of the URL.
    """
    cut = url[:limit]
    try:
        urlsplit(cut)
    except ValueError:
        return ""
    return cut
