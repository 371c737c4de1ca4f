"""The visitor profile: what the package remembers of one visitor, bounded.

A profile is plain data with a compact JSON form (``to_data``/``from_data``)
that the stores keep in a signed cookie, the cache or the database. Every
collection is capped, so a profile stays small whatever the visitor does.
Times are Unix seconds. Every change bumps ``revision``, which tells the
request's ``SegmentSet`` to forget verdicts made on older data (real time).
"""

import hashlib
import json
import math
import secrets
from datetime import datetime

from django.utils import timezone

from .conf import segments_settings

FORMAT_VERSION = 1
MAX_PAGES = 16  # pages with a view count kept (most recent first out)
MAX_VISIT_PAGES = 16  # pages already scored in the current visit
MAX_SCORES = 12
MAX_EVENTS = 12
MAX_EVENT_DAYS = 8  # distinct days of counts kept per event
MAX_ATTRIBUTES = 12
MAX_LEDGER = 4  # the last score changes, with what caused them (for the cockpit)
MAX_KEY_LENGTH = 40
MAX_TEXT_LENGTH = 200
MAX_VALUE_LENGTH = 120  # serialised length of one attribute value
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
        self.referrer = (referrer or "")[:MAX_TEXT_LENGTH]
        self.utm = {
            key: str(value)[:MAX_TEXT_LENGTH]
            for key, value in (utm or {}).items()
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
        """Add points to an interest; ``source`` says why ("page:12", "campaign:spring")."""
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
        if not isinstance(key, str) or not 0 < len(key) <= MAX_KEY_LENGTH:
            raise ValueError(f"An attribute key must be text of 1 to {MAX_KEY_LENGTH} characters.")
        try:
            size = len(json.dumps(value, allow_nan=False))
        except (TypeError, ValueError) as error:
            raise ValueError(f"Attribute {key!r} must be a JSON value: {error}") from None
        if size > MAX_VALUE_LENGTH:
            raise ValueError(
                f"Attribute {key!r} is {size} characters as JSON; at most {MAX_VALUE_LENGTH}."
            )
        self.attributes.pop(key, None)
        self.attributes[key] = value
        _cap(self.attributes, MAX_ATTRIBUTES)
        self.touch()

    def remember_sticky(self, segment_slug, until):
        # Not a change of what rules see, so verdicts already made stay valid.
        self.sticky[segment_slug] = int(until)
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
        }

    @classmethod
    def from_data(cls, data):
        """Rebuild a profile; raise ``ValueError`` for data of another shape or version."""
        if not isinstance(data, dict) or data.get("_") != FORMAT_VERSION:
            raise ValueError("not a visitor profile of this format")
        try:
            profile = cls(visitor_id=_text(data["id"], 64))
            profile.visits = _count(data["v"])
            profile.pageviews = _count(data["n"])
            profile.first_seen = _count(data["f"])
            profile.last_seen = _count(data["l"])
            profile.visit_started = _count(data["s"])
            profile.landing_page = None if data["lp"] is None else _count(data["lp"])
            profile.referrer = _text(data["r"], MAX_TEXT_LENGTH)
            profile.utm = {
                key: _text(value, MAX_TEXT_LENGTH)
                for key, value in dict(data["u"]).items()
                if key in UTM_PARAMETERS
            }
            profile.page_views = {
                _count(page): _count(count) for page, count in data["p"][-MAX_PAGES:]
            }
            profile.visit_pages = [_count(page) for page in data["vp"][-MAX_VISIT_PAGES:]]
            profile.raw_scores = {
                _text(slug, MAX_KEY_LENGTH): [float(points), _count(since)]
                for slug, (points, since) in list(dict(data["sc"]).items())[-MAX_SCORES:]
            }
            profile.event_days = {
                _text(name, MAX_KEY_LENGTH): {
                    _count(day): _count(count) for day, count in days[-MAX_EVENT_DAYS:]
                }
                for name, days in list(dict(data["e"]).items())[-MAX_EVENTS:]
            }
            profile.attributes = dict(list(dict(data["a"]).items())[-MAX_ATTRIBUTES:])
            profile.sticky = {_text(s, MAX_KEY_LENGTH): _count(u) for s, u in data["k"].items()}
            profile.ledger = [
                [
                    _text(slug, MAX_KEY_LENGTH),
                    float(points),
                    _text(source, MAX_KEY_LENGTH),
                    _count(when),
                ]
                for slug, points, source, when in data.get("g", [])[-MAX_LEDGER:]
            ]
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise ValueError(f"malformed visitor profile: {error}") from error
        points = [p for p, _ in profile.raw_scores.values()] + [e[1] for e in profile.ledger]
        if not all(math.isfinite(p) for p in points):
            raise ValueError("malformed visitor profile: a score is not a finite number")
        return profile


def _cap(mapping, size):
    """Drop the oldest entries (insertion order) beyond ``size``."""
    for key in list(mapping)[: max(len(mapping) - size, 0)]:
        del mapping[key]


def _count(value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"expected a non-negative integer, got {value!r}")
    return value


def _text(value, limit):
    if not isinstance(value, str) or len(value) > limit:
        raise ValueError(f"expected text of at most {limit} characters")
    return value
