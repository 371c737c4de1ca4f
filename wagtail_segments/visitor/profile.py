"""The visitor profile: what the package remembers of one visitor, bounded.

A profile is plain data with a compact JSON form (``to_data``/``from_data``)
that the stores keep in a signed cookie, the cache or the database. Every
collection and every text is capped, so a profile stays small whatever the
visitor does; a store that must fit a size asks ``trimmed_data`` for ever
smaller forms, least valuable data left out first.
Times are Unix seconds. Every change bumps ``revision``, which tells the
request's ``SegmentSet`` to forget verdicts made on older data (real time).
"""

import hashlib
import json
import math
import re
import secrets
from datetime import datetime

from django.utils import timezone

from ..conf import segments_settings
from ..parsing import UNSTORABLE, clipped_url, is_storable, shape_problems

FORMAT_VERSION = 1
MAX_PAGES = 16  # pages with a view count kept (most recent first out)
MAX_VISIT_PAGES = 16  # pages already scored in the current visit
MAX_SCORES = 12
MAX_EVENTS = 12
MAX_EVENT_DAYS = 8  # distinct days of counts kept per event
MAX_ATTRIBUTES = 12
MAX_LEDGER = 4  # the last score changes, with what caused them (for the cockpit)
MAX_STICKY = 32  # sticky segments remembered
# Server-side stores only (see ``membership`` and ``visit_log``): never in the cookie.
MAX_MEMBERSHIPS = 100  # segments the visitor was last known to be a member of
MAX_VISIT_LOG = 20  # past visits, for the People screens
MAX_KEY_LENGTH = 40
MAX_SLUG_LENGTH = 100  # interest and segment slugs (their models' max_length)
MAX_TEXT_LENGTH = 200
MAX_VALUE_LENGTH = 120  # serialised length of one attribute value
LONG_TEXT = 40  # a UTM value or referrer longer than this is the first thing trimmed
MAX_COUNT = 10**9  # visits, page views, an event's count of a day: far more than anyone's
MAX_POINTS = 10**6  # an interest score, either way
MAX_PAGE_ID = 2**31 - 1  # page ids are 32-bit integers
MAX_TIME = 4_102_444_800  # 2100-01-01 in Unix seconds: no later time is kept
VISITOR_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")  # what ``new_visitor_id`` writes
UTM_PARAMETERS = ("source", "medium", "campaign", "term", "content")
SECONDS_PER_DAY = 86400


def new_visitor_id():
    return secrets.token_urlsafe(12)


def unix(moment=None):
    return int((moment or timezone.now()).timestamp())


class VisitorProfile:
    """One visitor's history, interest scores, events and attributes."""

    def __init__(self, visitor_id=None, now=None):
        now = unix(now)
        self.visitor_id = visitor_id or new_visitor_id()
        self.visits = 0
        self.pageviews = 0
        self.first_seen = now
        self.last_seen = now
        self.visit_started = now
        self.landing_page = None
        self.referrer = ""
        self.utm = {}
        self.page_views = {}  # page id -> views, oldest first
        self.visit_pages = []  # page ids already scored in this visit
        self.raw_scores = {}  # interest slug -> [points, unix time of points]
        self.event_days = {}  # event name -> {day number: count}
        self.attributes = {}
        self.sticky = {}  # segment slug -> unix time membership ends
        self.ledger = []  # [interest slug, points, source, unix time], newest last
        # Server-side stores only: segment slug -> unix time the membership was first seen,
        self.memberships = {}
        # and [visit start, landing page, referrer host, utm campaign, utm source, page views
        # before the visit], oldest first.
        self.visit_log = []
        self.revision = 0
        self.changed = False

    # -- reading -------------------------------------------------------------------------

    @property
    def is_new(self):
        return self.visits <= 1

    @property
    def scores(self):
        """Interest slug -> score after decay, highest first."""
        now = unix()
        decayed = {slug: self._decayed(slug, now) for slug in self.raw_scores}
        return dict(sorted(decayed.items(), key=lambda item: -item[1]))

    @property
    def events(self):
        """Event name -> count over the days kept."""
        return {name: sum(days.values()) for name, days in self.event_days.items()}

    def event_count(self, name, within_days=None, now=None):
        days = self.event_days.get(name, {})
        if within_days is None:
            return sum(days.values())
        first_day = unix(now) // SECONDS_PER_DAY - within_days + 1
        return sum(count for day, count in days.items() if day >= first_day)

    def page_view_count(self, page_id):
        return self.page_views.get(int(page_id), 0)

    def datetime(self, unix_time):
        return datetime.fromtimestamp(unix_time, tz=timezone.get_current_timezone())

    def percentile(self, *salt):
        """A number in [0, 100) fixed for this visitor and ``salt`` (A/B buckets, holdouts)."""
        key = ":".join([self.visitor_id, *map(str, salt)]).encode()
        digest = hashlib.blake2b(key, digest_size=8).digest()
        return int.from_bytes(digest, "big") % 10000 / 100

    # -- changing ------------------------------------------------------------------------

    def touch(self):
        self.revision += 1
        self.changed = True

    def start_visit(self, now, landing_page=None, referrer="", utm=None):
        """Begin a new visit: remember where it started."""
        self.visits += 1
        self.visit_started = unix(now)
        self.landing_page = landing_page
        self.referrer = clipped_url(_storable(referrer or ""), MAX_TEXT_LENGTH)
        utm = {key: _storable(str(value)) for key, value in (utm or {}).items() if value}
        self.utm = {
            key: value[:MAX_TEXT_LENGTH]
            for key, value in utm.items()
            if key in UTM_PARAMETERS and value
        }
        self.visit_pages = []
        self.touch()

    def record_pageview(self, page_id, now):
        """Count a page view; return True when it is the page's first in this visit."""
        page_id = int(page_id)
        self.pageviews += 1
        self.last_seen = unix(now)
        self.page_views[page_id] = self.page_views.pop(page_id, 0) + 1
        _cap(self.page_views, MAX_PAGES)
        first_in_visit = page_id not in self.visit_pages
        if first_in_visit:
            self.visit_pages = [*self.visit_pages, page_id][-MAX_VISIT_PAGES:]
        self.touch()
        return first_in_visit

    def add_score(self, interest_slug, points, now=None, source="code"):
        """Add points to an interest; ``source`` says why ("page:12", "campaign:spring").

        Raise ``ValueError`` for a slug that cannot be kept.
        """
        checked_name(interest_slug, MAX_SLUG_LENGTH, "An interest slug")
        now = unix(now)
        value = round(self._decayed(interest_slug, now) + float(points), 1)
        entry = [
            interest_slug[:MAX_KEY_LENGTH],
            round(float(points), 1),
            source[:MAX_KEY_LENGTH],
            now,
        ]
        self.ledger = [*self.ledger, entry][-MAX_LEDGER:]
        self.raw_scores.pop(interest_slug, None)
        self.raw_scores[interest_slug] = [value, now]
        if len(self.raw_scores) > MAX_SCORES:
            weakest = min(self.raw_scores, key=lambda slug: self._decayed(slug, now))
            del self.raw_scores[weakest]
        self.touch()

    def track_event(self, name, count=1, now=None):
        """Count the event ``name`` today; raise ``ValueError`` for a name that cannot be kept."""
        checked_name(name, MAX_KEY_LENGTH, "An event name")
        if not is_storable(name):
            raise ValueError(f"Event name {name!r}: text {UNSTORABLE}.")
        day = unix(now) // SECONDS_PER_DAY
        days = self.event_days.pop(name, {})
        days[day] = days.get(day, 0) + int(count)
        for old_day in sorted(days)[:-MAX_EVENT_DAYS]:
            del days[old_day]
        self.event_days[name] = days
        _cap(self.event_days, MAX_EVENTS)
        self.touch()

    def set_attribute(self, key, value):
        """Remember a JSON value under ``key``; raise ``ValueError`` for what cannot be kept."""
        checked_attribute(key, value)
        self.attributes.pop(key, None)
        self.attributes[key] = value
        _cap(self.attributes, MAX_ATTRIBUTES)
        self.touch()

    def remember_sticky(self, segment_slug, until):
        # Not a change of what rules see, so verdicts already made stay valid.
        self.sticky[segment_slug] = int(min(until, MAX_TIME))
        self.changed = True

    # -- decay ---------------------------------------------------------------------------

    def _decayed(self, slug, now):
        points, since = self.raw_scores.get(slug, (0.0, now))
        half_life = segments_settings.SCORE_HALF_LIFE_DAYS
        if not half_life:
            return points
        elapsed_days = max(now - since, 0) / SECONDS_PER_DAY
        return round(points * math.pow(0.5, elapsed_days / half_life), 2)

    # -- storage form --------------------------------------------------------------------

    def to_data(self):
        now = unix()
        return {
            "_": FORMAT_VERSION,
            "id": self.visitor_id,
            "v": self.visits,
            "n": self.pageviews,
            "f": self.first_seen,
            "l": self.last_seen,
            "s": self.visit_started,
            "lp": self.landing_page,
            "r": self.referrer,
            "u": self.utm,
            "p": [[page, count] for page, count in self.page_views.items()],
            "vp": self.visit_pages,
            "sc": self.raw_scores,
            "e": {name: list(map(list, days.items())) for name, days in self.event_days.items()},
            "a": self.attributes,
            "k": {slug: until for slug, until in self.sticky.items() if until > now},
            "g": self.ledger,
            **({"m": self.memberships} if self.memberships else {}),
            **({"h": self.visit_log} if self.visit_log else {}),
        }

    def trimmed_data(self):
        """The storage form, yielded again after each removal, least valuable data first.

        For a store that must keep the profile within a size (the cookie
        store): it stops asking once the form fits. The same dict is changed
        in place; the profile itself is not. Left out in this order, one
        entry at a time:

        1. the score ledger, oldest first (it only explains scores in the cockpit);
        2. UTM values and the referrer longer than ``LONG_TEXT``, longest first;
        3. events, least recently tracked first;
        4. page view counts, least recently viewed first, then the pages
           already scored in this visit, oldest first;
        5. the other UTM values and the referrer: content, term, medium,
           source, referrer, campaign;
        6. attributes, least recently set first;
        7. interest scores, weakest first;
        8. sticky memberships, soonest to end first.

        What is never left out (the visitor id, counts, times, landing page)
        signs to a cookie of about 230 bytes.
        """
        # A copy of each collection: ``to_data`` hands out the profile's own.
        data = {key: _copy(value) for key, value in self.to_data().items()}
        now = unix()
        yield from _emptied(data["g"], data)
        texts = {**data["u"], REFERRER: data["r"]}
        for name in sorted(texts, key=lambda name: (-len(texts[name]), VISIT_TEXT.index(name))):
            if len(texts[name]) > LONG_TEXT:
                _drop_visit_text(data, name)
                yield data
        yield from _emptied(data["e"], data)
        yield from _emptied(data["p"], data)
        yield from _emptied(data["vp"], data)
        for name in VISIT_TEXT:
            if (name == REFERRER and data["r"]) or name in data["u"]:
                _drop_visit_text(data, name)
                yield data
        yield from _emptied(data["a"], data)
        weakest_first = sorted(data["sc"], key=lambda slug: self._decayed(slug, now))
        yield from _emptied(data["sc"], data, weakest_first)
        yield from _emptied(data["k"], data, sorted(data["k"], key=data["k"].get))

    @classmethod
    def from_data(cls, data):
        """Rebuild a profile from its storage form, keeping every field that fits.

        Raise ``ValueError`` for data of another shape or version, or without a
        valid visitor id. Any other field that does not fit (another type, a
        number out of bounds, text too long) keeps its default, and an entry of
        a collection that does not fit is dropped: the rest of the profile stays.
        """
        if not isinstance(data, dict) or data.get("_") != FORMAT_VERSION:
            raise ValueError("not a visitor profile of this format")
        visitor_id = data.get("id")
        if not isinstance(visitor_id, str) or not VISITOR_ID.fullmatch(visitor_id):
            raise ValueError("malformed visitor profile: no valid visitor id")
        profile = cls(visitor_id=visitor_id)
        for attribute, (key, read) in READERS.items():
            if key in data:
                try:
                    setattr(profile, attribute, read(data[key]))
                except FIELD_ERRORS:  # this field does not fit: it keeps its default
                    continue
        return profile


def checked_attribute(key, value):
    """``value``, when it can be kept under ``key``; else raise ``ValueError`` saying why."""
    if not isinstance(key, str) or not 0 < len(key) <= MAX_KEY_LENGTH:
        raise ValueError(f"An attribute key must be text of 1 to {MAX_KEY_LENGTH} characters.")
    if not is_storable(key):
        raise ValueError(f"Attribute {key!r}: a name {UNSTORABLE}.")
    try:
        size = len(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError, RecursionError) as error:
        raise ValueError(f"Attribute {key!r} must be a JSON value: {error}") from None
    if size > MAX_VALUE_LENGTH:
        raise ValueError(
            f"Attribute {key!r} is {size} characters as JSON; at most {MAX_VALUE_LENGTH}."
        )
    problems = shape_problems(value, where=f"Attribute {key!r}")
    if problems:
        raise ValueError(problems[0])
    return value


def checked_name(name, limit, what):
    """``name``, when it is text of 1 to ``limit`` characters; else raise ``ValueError``."""
    if not isinstance(name, str) or not 0 < len(name) <= limit:
        raise ValueError(f"{what} must be text of 1 to {limit} characters.")
    return name


def _storable(text):
    """``text`` without NUL characters; "" if it still cannot be stored (a lone surrogate)."""
    text = text.replace("\x00", "")
    return text if is_storable(text) else ""


# -- trimming the storage form ---------------------------------------------------------------

REFERRER = "referrer"
VISIT_TEXT = ("content", "term", "medium", "source", REFERRER, "campaign")


def _copy(value):
    return value.copy() if isinstance(value, dict | list) else value


def _drop_visit_text(data, name):
    if name == REFERRER:
        data["r"] = ""
    else:
        del data["u"][name]


def _emptied(collection, data, order=None):
    """Remove the entries of ``collection`` (oldest first, or in ``order``), yielding ``data``."""
    for key in list(order if order is not None else collection):
        if isinstance(collection, list):
            del collection[0]
        else:
            del collection[key]
        yield data


def _cap(mapping, size):
    """Drop the oldest entries (insertion order) beyond ``size``."""
    for key in list(mapping)[: max(len(mapping) - size, 0)]:
        del mapping[key]


# -- reading the storage form: each reader returns what fits or raises one of FIELD_ERRORS ----

FIELD_ERRORS = (KeyError, TypeError, ValueError, OverflowError, RecursionError)


def _whole_number(low, high):
    def read(value):
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValueError(f"expected a whole number from {low} to {high}, got {value!r}")
        return value

    return read


_count = _whole_number(0, MAX_COUNT)
_time = _whole_number(0, MAX_TIME)
_day = _whole_number(0, MAX_TIME // SECONDS_PER_DAY)
_page = _whole_number(1, MAX_PAGE_ID)


def _points(value):
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not abs(value) <= MAX_POINTS
    ):
        raise ValueError(f"expected points of at most {MAX_POINTS}, got {value!r}")
    return float(value)  # NaN and infinities are refused above: abs(nan) <= x is false


def _text(limit, shortest=0):
    def read(value):
        if not isinstance(value, str) or not shortest <= len(value) <= limit:
            raise ValueError(f"expected text of {shortest} to {limit} characters")
        if not is_storable(value):
            raise ValueError(f"text {UNSTORABLE}")
        return value

    return read


_key = _text(MAX_KEY_LENGTH, shortest=1)
_slug = _text(MAX_SLUG_LENGTH, shortest=1)


def _url(value):
    return clipped_url(_text(MAX_TEXT_LENGTH)(value), MAX_TEXT_LENGTH)


def _utm_parameter(value):
    if value not in UTM_PARAMETERS:
        raise ValueError(f"not a UTM parameter: {value!r}")
    return value


def _optional(read):
    return lambda value: None if value is None else read(value)


def _row(*readers):
    """A list of exactly one value for each reader."""

    def read(value):
        if not isinstance(value, list) or len(value) != len(readers):
            raise ValueError(f"expected a list of {len(readers)} values")
        return [read_one(item) for read_one, item in zip(readers, value, strict=True)]

    return read


def _kept(read, last):
    """Of a list's ``last`` entries, those ``read`` accepts."""

    def read_all(value):
        if not isinstance(value, list):
            raise TypeError("expected a list")
        kept = []
        for item in value[-last:]:
            try:
                kept.append(read(item))
            except FIELD_ERRORS:  # read on every request: a try costs less than suppress()
                continue
        return kept

    return read_all


def _pairs(read, last):
    """A list of ``[key, value]`` pairs as a dict, keeping the pairs ``read`` accepts."""
    return lambda value: dict(_kept(read, last)(value))


def _kept_items(read_key, read_value, last):
    """Of a mapping's ``last`` items, those whose key and value the readers accept."""

    def read_all(value):
        if not isinstance(value, dict):
            raise TypeError("expected a mapping")
        kept = {}
        for key, item in list(value.items())[-last:]:
            try:
                kept[read_key(key)] = read_value(key, item)
            except FIELD_ERRORS:
                continue
        return kept

    return read_all


def _value(read):
    """A reader of a mapping's values that needs no key."""
    return lambda _key, value: read(value)


# Profile attribute -> (key in the storage form, reader).
READERS = {
    "visits": ("v", _count),
    "pageviews": ("n", _count),
    "first_seen": ("f", _time),
    "last_seen": ("l", _time),
    "visit_started": ("s", _time),
    "landing_page": ("lp", _optional(_page)),
    "referrer": ("r", _url),
    "utm": ("u", _kept_items(_utm_parameter, _value(_text(MAX_TEXT_LENGTH)), len(UTM_PARAMETERS))),
    "page_views": ("p", _pairs(_row(_page, _count), MAX_PAGES)),
    "visit_pages": ("vp", _kept(_page, MAX_VISIT_PAGES)),
    "raw_scores": ("sc", _kept_items(_slug, _value(_row(_points, _time)), MAX_SCORES)),
    "event_days": (
        "e",
        _kept_items(_key, _value(_pairs(_row(_day, _count), MAX_EVENT_DAYS)), MAX_EVENTS),
    ),
    "attributes": ("a", _kept_items(_key, checked_attribute, MAX_ATTRIBUTES)),
    "sticky": ("k", _kept_items(_slug, _value(_time), MAX_STICKY)),
    "ledger": ("g", _kept(_row(_key, _points, _key, _time), MAX_LEDGER)),
    "memberships": ("m", _kept_items(_slug, _value(_time), MAX_MEMBERSHIPS)),
    "visit_log": (
        "h",
        _kept(
            _row(
                _time,
                _optional(_page),
                _text(MAX_TEXT_LENGTH),
                _text(MAX_TEXT_LENGTH),
                _text(MAX_TEXT_LENGTH),
                _count,
            ),
            MAX_VISIT_LOG,
        ),
    ),
}
