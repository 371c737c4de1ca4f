"""Stats: what each request counts, and how the counts reach the database.

A request is counted once its response has been sent (when Django closes
it), if it was served (a response of 500 or more counts nothing), into
counters in its process's memory; a background thread in
each process writes them every ``STATS_FLUSH_SECONDS`` with atomic
increments (``UPDATE … SET n = n + k``, or an insert that falls back to the
update when another process inserted first), so no page waits for a
database write and totals stay exact with any number of workers. Counts a
write could not store go back into memory for the next attempt.

Per day it counts: visitors and page views of the site; members seen and
their page views per segment; the impressions of each personalised block's
variants; and goal conversions, per segment and for the variants shown
earlier in the same visit. A member is counted on the first page view of the
day that judges them a member, whenever in the day that is: counting judges
no segment of its own, it takes the verdicts the request reached anyway (the
segments its content asked about, what those depend on, the sticky ones).
From then on that day's page views count for the segment.

Whether a visitor, or a visitor's membership of a segment, was already
counted today is the database's to know (a ``VisitorDay`` row, written by
the background thread, which counts only when it inserts the row); Django's
cache shares the segments a visitor is counted in today and the variants
shown in the visit between processes, so that a visitor's later page views
need no query. When the cache forgets (a restart) or cannot be reached,
page views, visitors, members and impressions are still counted exactly; a
goal conversion, which the cache keeps to once a visit, is not. Bots,
visitors who may not be tracked, editors viewing the site as a segment and,
unless ``STATS_COUNT_EDITORS`` says otherwise, users who may use Wagtail's
admin count nothing.
"""

import atexit
import base64
import hashlib
import logging
import os
import threading
from collections import Counter
from datetime import timedelta

from django.db import IntegrityError, connections, router, transaction
from django.db.models import F
from django.utils import timezone

from ..conf import segments_cache, segments_settings
from ..log import log_once
from ..visitor.editors import is_editor

logger = logging.getLogger(__name__)

DAY_SECONDS = 24 * 60 * 60
MAX_SHOWN = 24  # variants remembered per visit, for attributing conversions
NOTE_BATCH = 400  # visitors and memberships noted per statement (SQLite: 999 parameters)
ADMIN_PERMISSION = "wagtailadmin.access_admin"  # the site's editors: not counted by default
SHARES_KEY = "wagtail_segments:potential"  # the reports' segment shares, forgotten on writes


class Recorder:
    """The counts of one process, waiting to be written."""

    def __init__(self):
        self.lock = threading.Lock()
        self.pending = Counter()
        # (day, visitor id) -> [visitor perhaps not counted yet, segments perhaps not counted yet]
        self.visitors = {}
        self.pruned_before = None  # the day before which VisitorDay rows were last deleted
        self.pid = None
        self.failing = False
        self.autostart = True  # tests switch the thread off and flush by hand

    def add(self, key, field, amount=1):
        self.add_all({(key, field): amount})

    def add_all(self, amounts):
        """Add ``{(key, field): amount}`` under one lock."""
        with self.lock:
            pending = self.pending
            for counter, amount in amounts.items():
                pending[counter] += amount
            self._start()

    def add_visitor(self, day, visitor_id, segments, visitor=True):
        """A visitor (if ``visitor``) and their membership of ``segments`` seen on ``day``:
        each counted unless the database knows it already."""
        with self.lock:
            seen = self.visitors.setdefault((day, visitor_id), [False, set()])
            seen[0] = seen[0] or visitor
            seen[1].update(segments)
            self._start()

    def _start(self):
        if self.autostart and self.pid != os.getpid():  # first use here, or after a fork
            self.pid = os.getpid()
            threading.Thread(target=self._run, name="wagtail_segments stats", daemon=True).start()

    def _run(self):
        while True:
            threading.Event().wait(segments_settings.STATS_FLUSH_SECONDS)
            self.flush()

    def flush(self):
        """Write what is pending; return the number of counters written.

        Rows are written one by one: after a failure only the rows not yet
        written go back into memory, so nothing is lost or counted twice.
        A row the database refuses for what it says (a goal deleted since)
        is dropped and logged once.
        """
        with self.lock:
            taken, self.pending = self.pending, Counter()
            visitors, self.visitors = self.visitors, {}
        try:
            self.count_visitors(visitors, taken)
        except Exception:
            with self.lock:  # what is left is noted next time, with what came since
                for key, (visitor, segments) in visitors.items():
                    if visitor or segments:
                        self.visitors.setdefault(key, [False, set()])
                        self.visitors[key][0] |= visitor
                        self.visitors[key][1] |= segments
                self.pending.update(taken)
            return self._failed()
        rows = list(group(taken).items())
        written, shares_changed = 0, False
        for number, ((kind, lookup), amounts) in enumerate(rows):
            try:
                write_row(kind, lookup, amounts)
            except IntegrityError:
                log_once(
                    ("stats-row", kind),
                    "wagtail_segments dropped stats it cannot store",
                    exc_info=True,
                )
            except Exception:
                with self.lock:
                    for (kind_left, lookup_left), amounts_left in rows[number:]:
                        for field, amount in amounts_left.items():
                            self.pending[((kind_left, *lookup_left), field)] += amount
                forget_shares(shares_changed)
                return self._failed(written)
            else:
                written += len(amounts)
                shares_changed = shares_changed or kind in ("site", "segment")
        forget_shares(shares_changed)
        self.failing = False
        return written

    def _failed(self, written=0):
        if not self.failing:
            logger.exception("wagtail_segments could not write its stats; will retry")
        self.failing = True
        return written

    def count_visitors(self, visitors, taken):
        """Count in ``taken`` the visitors and memberships the database had not counted yet.

        ``visitors``: ``{(day, visitor id): [visitor, segments]}``. They are noted
        ``NOTE_BATCH`` at a time, one statement each; what a batch noted is taken
        out of ``visitors``, so after a failure only the rest is noted again.
        """
        batches = {}  # day -> [(key, counter, seen, slug or None)]
        for (day, visitor_id), seen in visitors.items():
            noted = batches.setdefault(day, [])
            if seen[0]:
                noted.append((visitor_id, (("site", day), "visitors"), seen, None))
            for slug in seen[1]:
                counter = (("segment", slug, day), "members")
                noted.append((member_key(visitor_id, slug), counter, seen, slug))
        for day, noted in batches.items():
            for start in range(0, len(noted), NOTE_BATCH):
                batch = noted[start : start + NOTE_BATCH]
                new = self.note_visitors(day, [key for key, *_ in batch])
                for key, counter, seen, slug in batch:
                    if key in new:
                        taken[counter] += 1
                    if slug is None:
                        seen[0] = False
                    else:
                        seen[1].discard(slug)

    def note_visitors(self, day, keys):
        """Write down that each visitor (or ``member_key``) was counted on ``day``; the set of
        those that were not yet.

        One ``INSERT ... ON CONFLICT DO NOTHING RETURNING`` where the database
        has it (PostgreSQL, SQLite 3.35+), else a row at a time. Rows older than
        yesterday are deleted once a day: they answer nothing.
        """
        from ..models import VisitorDay

        if self.pruned_before != day - timedelta(days=1):
            VisitorDay.objects.filter(day__lt=day - timedelta(days=1)).delete()
            self.pruned_before = day - timedelta(days=1)
        connection = connections[router.db_for_write(VisitorDay)]
        if connection.vendor not in ("postgresql", "sqlite") or not (
            connection.features.can_return_rows_from_bulk_insert
        ):
            return {key for key in keys if self.note_visitor(day, key)}
        quote = connection.ops.quote_name
        sql = (
            f"INSERT INTO {quote(VisitorDay._meta.db_table)} ({quote('day')}, "
            f"{quote('visitor_id')}) VALUES {', '.join(['(%s, %s)'] * len(keys))} "
            f"ON CONFLICT ({quote('day')}, {quote('visitor_id')}) DO NOTHING "
            f"RETURNING {quote('visitor_id')}"
        )
        stored_day = connection.ops.adapt_datefield_value(day)
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute(sql, [value for key in keys for value in (stored_day, key)])
            return {visitor_id for (visitor_id,) in cursor.fetchall()}

    def note_visitor(self, day, visitor_id):
        """``note_visitors`` of one, on databases without ``ON CONFLICT ... RETURNING``."""
        from ..models import VisitorDay

        try:
            with transaction.atomic(using=router.db_for_write(VisitorDay)):
                VisitorDay.objects.create(day=day, visitor_id=visitor_id)
        except IntegrityError:  # counted already, by this process or another
            return False
        return True


recorder = Recorder()
atexit.register(recorder.flush)


def forget_shares(changed):
    """The reports' cached segment shares are out of date once members or visitors are written."""
    if changed:
        _cache("delete", SHARES_KEY)


def member_key(visitor_id, slug):
    """The ``VisitorDay`` id of a visitor's membership of a segment.

    A digest fits the column whatever the lengths; the leading "~" is no
    character of a visitor id, so it never names a visitor.
    """
    digest = hashlib.sha256(f"{visitor_id}\n{slug}".encode()).digest()
    return "~" + base64.urlsafe_b64encode(digest).decode().rstrip("=")


def group(taken):
    """Pending counters by row: ``{(kind, lookup values): {field: amount}}``."""
    rows = {}
    for ((kind, *lookup), field), amount in taken.items():
        rows.setdefault((kind, tuple(lookup)), {})[field] = amount
    return rows


def write_row(kind, lookup, amounts):
    from ..models import GoalDay, SegmentDay, SiteDay, VariantDay

    model = {"site": SiteDay, "segment": SegmentDay, "variant": VariantDay, "goal": GoalDay}[kind]
    increment(model, dict(zip(LOOKUPS[kind], lookup, strict=True)), amounts)


LOOKUPS = {
    "site": ("day",),
    "segment": ("segment", "day"),
    "variant": ("page_id", "block", "variant", "held_out", "segments", "day"),
    "goal": ("goal_id", "segment", "day"),
}


def increment(model, lookup, amounts):
    """Add ``amounts`` to the row ``lookup``, creating it; exact under concurrent writers."""
    changes = {field: F(field) + amount for field, amount in amounts.items()}
    with transaction.atomic():
        if model.objects.filter(**lookup).update(**changes):
            return
        try:
            with transaction.atomic():
                model.objects.create(**lookup, **amounts)
        except IntegrityError:  # another writer created it first
            model.objects.filter(**lookup).update(**changes)


# -- what a request counts -----------------------------------------------------------------


def _cache(method, *args):
    """Call the package's cache; None when it cannot be reached (the counting goes on)."""
    try:
        return getattr(segments_cache(), method)(*args)
    except Exception:
        log_once("stats-cache", "wagtail_segments cannot reach its cache for stats", exc_info=True)
        return None


def counts(state):
    """Whether this request's visitor is counted at all."""
    return (
        segments_settings.STATS
        and state.trackable
        and state.may_store  # consent, Do Not Track, Global Privacy Control
        and state.viewing_as is None
        and state.segments.forced is None  # bots, previews, "view as"
    )


def record(state, response):
    """Count this request's page view, impressions and goals once the response is sent.

    The counting (the cache round trips) runs when Django closes the
    response, after the server has sent it: the page never waits for it.
    The segments the request judged the visitor a member of are taken now,
    as the profile may still change; on a visitor's first page view of the
    day here, sticky segments are judged too, as a membership found must
    reach the profile, which leaves with the response.
    """
    if response.status_code >= 500 or not counts(state):
        return  # a page that failed was not served: nothing to count
    if state.page_id is None and not state.events:
        return
    day = timezone.localdate()
    segments = state.segments
    if state.page_id is not None and day_key(state, day) not in _remembered:
        for slug in segments.definitions.sticky:
            segments.is_member(slug)
    members = segments.judged_members()
    response._resource_closers.append(AfterResponse(state, day, members))


class AfterResponse:
    """Counts a request when Django closes its response, once the server has sent it.

    A cache that stores the response (Django's cache middleware pickles it)
    keeps a copy that counts nothing: the counting belongs to this request.
    """

    def __init__(self, state, day, members):
        self.state, self.day, self.members = state, day, members

    def __reduce__(self):
        return (type(self), (None, None, None))

    def __call__(self):
        if self.state is None:
            return
        try:
            if segments_settings.STATS_COUNT_EDITORS or not is_editor(
                self.state.request, ADMIN_PERMISSION
            ):
                _record(self.state, self.day, self.members)
        except Exception:  # the cache is away, say: the page was served all the same
            log_once("stats-record", "wagtail_segments could not count a request", exc_info=True)


def _record(state, day, judged):
    profile = state.profile
    members = todays_segments(state, day, judged) if state.page_id is not None else None
    counts = {}  # one batch: the recorder's lock is taken once
    if members is not None:
        counts[("site", day), "pageviews"] = 1
        counts.update(((("segment", slug, day), "pageviews"), 1) for slug in members)
    shown_key = f"wagtail_segments:stats:variants:{profile.visitor_id}:{profile.visits}"
    variants = Counter(
        (
            impression.page_id or 0,
            impression.block,
            impression.variant,
            impression.held_out,
            ",".join(impression.segments)[:255],
        )
        for impression in state.impressions
    )
    counts.update(
        ((("variant", *variant, day), "impressions"), n) for variant, n in variants.items()
    )
    if counts:
        recorder.add_all(counts)
    if variants and not _shown_here.get(shown_key, frozenset()).issuperset(variants):
        shown = [] if is_first_view(state) else _cache("get", shown_key) or []
        known = set(shown)
        new = [variant for variant in variants if variant not in known]
        if new:
            _cache("set", shown_key, (shown + new)[-MAX_SHOWN:], DAY_SECONDS)
        # Recorded (the oldest may have made way for newer ones): not to be added again.
        _shown_here.remember(shown_key, frozenset(known.union(variants)))
    definitions = state.segments.definitions
    goals = set(definitions.page_goals.get(state.page_id, ()))
    for name in state.events:
        goals.update(definitions.event_goals.get(name, ()))
    for goal in goals:
        convert(state, goal, day, members, judged, shown_key)


class ProcessMemo(dict):
    """What this process last read from or wrote to the shared cache; at most ``size`` keys."""

    def __init__(self, size=10_000):
        super().__init__()
        self.size = size

    def remember(self, key, value):
        if key not in self and len(self) >= self.size:
            self.clear()
        self[key] = value
        return value


# The segments a visitor is counted in today (they only grow), and the variants of their
# visit known to be in the cache: a visitor's later page views need no round trip.
_remembered = ProcessMemo()
_shown_here = ProcessMemo()


def day_key(state, day):
    return f"wagtail_segments:stats:day:{day.isoformat()}:{state.profile.visitor_id}"


def todays_segments(state, day, judged):
    """The segments this visitor is counted in today, after counting those of ``judged``.

    ``judged``: the segments this request judged them a member of. Those not
    counted yet today are handed to the recorder, with the visitor when no
    entry of theirs says they were counted today (the database decides).
    """
    key = day_key(state, day)
    counted = _remembered.get(key)
    if counted is None and not is_first_view(state):  # a first view: nothing to read
        cached = _cache("get", key)
        counted = None if cached is None else frozenset(cached)
    if counted is not None and counted >= judged:
        return _remembered.remember(key, counted)
    new = judged - counted if counted is not None else judged
    recorder.add_visitor(day, state.profile.visitor_id, new, visitor=counted is None)
    counted = new | (counted or frozenset())
    _cache("set", key, counted, 2 * DAY_SECONDS)
    return _remembered.remember(key, counted)


def is_first_view(state):
    """A visitor's first page view: nothing of theirs can be in the cache yet (no read)."""
    return state.profile.pageviews <= 1


def convert(state, goal, day, members, judged, shown_key):
    """Count a goal reached, once per visit, for the visitor's segments and shown variants."""
    profile = state.profile
    once = f"wagtail_segments:stats:goal:{profile.visitor_id}:{profile.visits}:{goal}"
    if not _cache("add", once, 1, DAY_SECONDS):
        return  # reached already in this visit, or the cache cannot tell
    if members is None:
        members = todays_segments(state, day, judged)
    for slug in ["", *members]:
        recorder.add(("goal", goal, slug, day), "conversions")
    for shown in _cache("get", shown_key) or ():
        recorder.add(("variant", *shown, day), "conversions")
