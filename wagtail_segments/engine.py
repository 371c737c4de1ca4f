"""Compile segments once, cache them, and judge visitors lazily per request.

Compiling turns each enabled ``Segment`` into plain, picklable objects whose
rule values are already validated and prepared. The result lives in process
memory and in Django's cache under a version stamp that every save or delete
of a segment, an interest or a manual list replaces; a warm request reads one
cache key and makes no SQL query. A ``SegmentSet`` (``request.segments``)
judges only the segments it is asked about, plus their dependencies, and
remembers each verdict until the visitor's profile changes.
"""

import math
import secrets
import time
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from . import __version__
from .conf import segments_cache, segments_settings
from .fields import stored_rules
from .log import log_once
from .rendering import MATCH_ALL, MATCH_ANY
from .rules.base import RuleContext
from .rules.compiled import compile_rules, explain_rule, judge_rules
from .rules.registry import registry
from .scoring import ScoringRules, compile_scoring

VERSION_KEY = "wagtail_segments:version"
# Each release compiles its own: an upgraded process must not unpickle an older shape. And
# each set of registered rules: a process that lacks one must not hand others its verdict.
DEFINITIONS_KEY = "wagtail_segments:definitions:{release}:{rules}:{version}"


# -- compiled definitions ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CompiledSegment:
    pk: int
    slug: str
    name: str
    match_all: bool
    rules: tuple
    fields: dict  # model field values, to hand out ``Segment`` objects without a query
    depends_on: frozenset = frozenset()
    manual_users: frozenset = frozenset()
    manual_visitors: frozenset = frozenset()

    @property
    def sticky_days(self):
        return self.fields["sticky_days"]

    @property
    def holdout_percent(self):
        return self.fields["holdout_percent"]

    def is_scheduled(self, now):
        start, end = self.fields["active_from"], self.fields["active_until"]
        return not ((start and now < start) or (end and now >= end))

    def as_model(self):
        from .models import Segment

        return Segment(id=self.pk, **self.fields)


@dataclass(frozen=True, slots=True)
class CompiledPlacement:
    pk: int
    page_ids: frozenset
    page_type_ids: frozenset
    content: list  # the stored stream

    def applies_to(self, page):
        return page.pk in self.page_ids or page.content_type_id in self.page_type_ids


@dataclass(frozen=True, slots=True)
class Definitions:
    segments: dict  # slug -> CompiledSegment, in priority order
    scoring: ScoringRules = field(default_factory=ScoringRules)
    placements: dict = field(default_factory=dict)  # slot -> (CompiledPlacement, ...)
    experiences: dict = field(default_factory=dict)  # page id -> ((slug, page id), ...)
    page_goals: dict = field(default_factory=dict)  # page id -> (goal id, ...)
    event_goals: dict = field(default_factory=dict)  # event name -> (goal id, ...)
    holdouts: frozenset = frozenset()  # slugs of the segments that keep a holdout
    sticky: frozenset = frozenset()  # slugs of the sticky segments


def compile_segment(segment, manual_users=(), manual_visitors=()):
    rules = compile_rules(stored_rules(segment.rules), where=f" of segment {segment.slug!r}")
    depends_on = set()
    for compiled in rules:
        if compiled.rule and not compiled.error:
            depends_on.update(compiled.rule.depends_on(compiled.value))
    return CompiledSegment(
        pk=segment.pk,
        slug=segment.slug,
        name=segment.name,
        match_all=segment.match == segment.MATCH_ALL,
        rules=rules,
        fields={
            name: getattr(segment, name)
            for name in (*segment.SETTING_FIELDS, *segment.SCHEDULE_FIELDS)
        },
        depends_on=frozenset(depends_on),
        manual_users=frozenset(manual_users),
        manual_visitors=frozenset(manual_visitors),
    )


def compile_definitions():
    from .models import ManualMember, Segment

    users, visitors = {}, {}
    for segment_id, user_id, visitor_id in ManualMember.objects.filter(
        segment__enabled=True
    ).values_list("segment_id", "user_id", "visitor_id"):
        if user_id:
            users.setdefault(segment_id, set()).add(user_id)
        if visitor_id:
            visitors.setdefault(segment_id, set()).add(visitor_id)
    segments = {
        segment.slug: compile_segment(
            segment, users.get(segment.pk, ()), visitors.get(segment.pk, ())
        )
        for segment in Segment.objects.filter(enabled=True).order_by("-priority", "name", "pk")
    }
    return Definitions(
        segments=segments,
        holdouts=frozenset(slug for slug, s in segments.items() if s.holdout_percent),
        sticky=frozenset(slug for slug, s in segments.items() if s.sticky_days),
        scoring=compile_scoring(),
        placements=compile_placements(),
        experiences=compile_experiences(),
        **compile_goals(),
    )


def compile_goals():
    from .models import Goal

    page_goals, event_goals = {}, {}
    for pk, kind, page_id, event in Goal.objects.filter(enabled=True).values_list(
        "pk", "kind", "page_id", "event"
    ):
        if kind == Goal.KIND_PAGE and page_id:
            page_goals.setdefault(page_id, []).append(pk)
        elif kind == Goal.KIND_EVENT and event:
            event_goals.setdefault(event, []).append(pk)
    return {
        "page_goals": {key: tuple(value) for key, value in page_goals.items()},
        "event_goals": {key: tuple(value) for key, value in event_goals.items()},
    }


def compile_placements():
    from .models import Placement

    placements = {}
    for placement in Placement.objects.filter(enabled=True).prefetch_related(
        "placement_pages", "page_types"
    ):
        placements.setdefault(placement.slot, []).append(
            CompiledPlacement(
                pk=placement.pk,
                page_ids=frozenset(item.page_id for item in placement.placement_pages.all()),
                page_type_ids=frozenset(kind.pk for kind in placement.page_types.all()),
                content=list(placement.content.raw_data),
            )
        )
    return {slot: tuple(found) for slot, found in placements.items()}


def compile_experiences():
    from .models import PageExperience

    experiences = {}
    rows = PageExperience.objects.filter(segment__enabled=True).order_by("page_id", "sort_order")
    for page_id, slug, alternate_id in rows.values_list(
        "page_id", "segment__slug", "alternate_page_id"
    ):
        experiences.setdefault(page_id, []).append((slug, alternate_id))
    return {page_id: tuple(found) for page_id, found in experiences.items()}


# -- caching -------------------------------------------------------------------------------------

_memory = {"version": None, "rules": None, "definitions": None, "checked": float("-inf")}


def load_definitions():
    """The compiled segments: from process memory, else Django's cache, else the database.

    The version stamp in Django's cache is read at most once every
    ``DEFINITIONS_RECHECK_SECONDS``: with Redis, that is a round trip saved
    on nearly every request.
    """
    checked = time.monotonic()
    rules = registry.fingerprint
    if (
        _memory["definitions"] is not None
        and rules == _memory["rules"]
        and checked - _memory["checked"] < segments_settings.DEFINITIONS_RECHECK_SECONDS
    ):
        return _memory["definitions"]
    try:
        cache = segments_cache()
        version = cache.get(VERSION_KEY)
        if version is None:
            cache.add(VERSION_KEY, secrets.token_hex(8), None)
            version = cache.get(VERSION_KEY)
        if version is not None and (version, rules) == (_memory["version"], _memory["rules"]):
            _memory["checked"] = checked
            return _memory["definitions"]
        key = DEFINITIONS_KEY.format(release=__version__, rules=rules, version=version)
        definitions = cache.get(key)
        if definitions is None:
            definitions = compile_definitions()
            cache.set(key, definitions, None)
    except Exception:
        # The cache is down: keep serving what this process knows, or compile afresh.
        log_once("cache", "wagtail_segments cannot use its cache; using memory", exc_info=True)
        if _memory["definitions"] is None or rules != _memory["rules"]:
            _memory.update(rules=rules, definitions=compile_definitions())
        return _memory["definitions"]
    _memory.update(version=version, rules=rules, definitions=definitions, checked=checked)
    return definitions


def invalidate_definitions():
    """Give the definitions a new version stamp: every process recompiles on its next use."""
    _memory.update(version=None, definitions=None)
    try:
        segments_cache().set(VERSION_KEY, secrets.token_hex(8), None)
    except Exception:
        log_once("cache-invalidate", "wagtail_segments cannot reach its cache", exc_info=True)


def invalidate_after_change(**kwargs):
    """Signal receiver: invalidate now and again once the transaction commits."""
    invalidate_definitions()
    transaction.on_commit(invalidate_definitions)


# -- judging -------------------------------------------------------------------------------------


@dataclass(slots=True)
class SegmentExplanation:
    slug: str
    name: str
    matched: bool
    match_all: bool
    scheduled: bool
    sticky: bool = False
    held_out: bool = False
    holdout_percent: int = 0
    rules: list = field(default_factory=list)


class SegmentSet:
    """The segments of one visitor during one request: ``request.segments``.

    ``"slug" in segments`` judges that segment (and what it depends on) and
    remembers the verdict; iterating yields every matched ``Segment`` in
    priority order. A change to the visitor's profile clears the verdicts, so
    membership is real time within the request.
    """

    def __init__(self, request, visitor, page=None, now=None):
        self.request = request
        self.visitor = visitor
        self.page = page
        self.now = timezone.localtime(now)
        self.judged = []  # slugs in the order they were judged (for tests and the cockpit)
        self.forced = None  # a set of slugs imposed by an editor's "view as"
        self._definitions = None
        self._verdicts = {}
        self._facts = {}  # ``RuleContext.fact``: what rules read, worked out once
        self._forgot = False  # verdicts were forgotten: ``judged`` holds slugs judged again
        self._pending = set()
        self._revision = visitor.revision
        self.asked = set()  # slugs content asked about: the response depends on them

    @property
    def definitions(self):
        if self._definitions is None:
            self._definitions = load_definitions()
        return self._definitions

    # ``in``, iterating and ``slugs()`` are how templates and views ask: what they
    # answer may be in the response, so the caching layer counts those slugs as asked.

    def __contains__(self, slug):
        self.asked.add(slug)
        return self.is_member(slug)

    def __iter__(self):
        return (segment.as_model() for segment in map(self.definitions.segments.get, self.slugs()))

    def slugs(self):
        """The slugs of the visitor's segments, highest priority first."""
        self.asked.update(self.definitions.segments)
        return [slug for slug in self.definitions.segments if self.is_member(slug)]

    def is_targeted(self, slug):
        """Whether personalised content should address this visitor as a member.

        Members in the segment's holdout are not targeted: they keep the
        default content, so reports can measure the uplift. Content asks this;
        code that just wants membership asks ``is_member``.
        """
        self.asked.add(slug)
        return self.is_member(slug) and not self.is_held_out(slug)

    def matches(self, slugs, match=MATCH_ANY, judge=None):
        """Whether any (``match="all"``: all) of ``slugs`` target the visitor.

        ``judge=self.is_member`` asks membership instead, holdouts included.
        """
        if not slugs:
            return False
        verdicts = map(judge or self.is_targeted, slugs)
        return all(verdicts) if match == MATCH_ALL else any(verdicts)

    def choose(self, variants):
        """``(shown, counted)``: which of ``variants`` this visitor is shown and is counted for.

        Each variant has ``segments`` and ``match``; positions count from 1, 0
        is the default. The first variant (in editor order) whose segments
        target the visitor is shown; a holdout member keeps the default and is
        counted against the variant they would have got. A page asks this once
        per personalised block: the common variant, for one segment already
        judged, is answered inline.
        """
        fresh = self.forced is None and self.visitor.revision == self._revision
        verdicts = self._verdicts if fresh else {}  # else ``is_member`` answers each slug
        holdouts = self.holdouts
        for position, variant in enumerate(variants, start=1):
            slugs = variant.segments
            if len(slugs) != 1:
                targeted = self.matches(slugs, variant.match)
            else:
                slug = slugs[0]
                self.asked.add(slug)
                targeted = verdicts.get(slug)
                if targeted is None:
                    targeted = self.is_member(slug)
                if targeted and slug in holdouts:
                    targeted = not self.is_held_out(slug)
            if targeted:
                return position, position
        if holdouts:
            for position, variant in enumerate(variants, start=1):
                if self.matches(variant.segments, variant.match, self.is_member):
                    return 0, position
        return 0, 0

    def is_member(self, slug):
        if self.forced is not None:
            return slug in self.forced
        if self.visitor.revision != self._revision:
            self._forget()
        verdict = self._verdicts.get(slug)
        if verdict is None:
            segment = self.definitions.segments.get(slug)
            if segment is None or slug in self._pending:
                return False  # unknown, disabled, deleted, or a cycle
            self._pending.add(slug)
            try:
                verdict = self._judge(segment)
            finally:
                self._pending.discard(slug)
            self._verdicts[slug] = verdict
        return verdict

    def judged_members(self):
        """The segments judged so far that the visitor is a member of."""
        if self.forced is None and self.visitor.revision == self._revision and not self._forgot:
            return frozenset(slug for slug, verdict in self._verdicts.items() if verdict)
        return frozenset(slug for slug in self.judged if self.is_member(slug))

    def _forget(self):
        """The profile changed: verdicts and facts made on the older data are forgotten."""
        self._forgot = self._forgot or bool(self._verdicts)
        self._verdicts.clear()
        self._facts.clear()
        self._revision = self.visitor.revision

    @property
    def holdouts(self):
        """The segments whose holdouts apply: none when segments are forced (previews and
        "view as" show the segments' content)."""
        return self.definitions.holdouts if self.forced is None else ()

    def is_held_out(self, slug):
        """Whether this member belongs to the segment's holdout (keeps default content)."""
        if slug not in self.holdouts:
            return False
        segment = self.definitions.segments[slug]
        return (
            self.is_member(slug)
            and self.visitor.percentile(slug, "holdout") < segment.holdout_percent
        )

    def context(self, segment):
        """The context ``segment``'s rules are judged in, sharing the facts of this revision."""
        if self.visitor.revision != self._revision:
            self._forget()
        return RuleContext(
            self.request, self.visitor, self.page, self.now, self, segment, self._facts
        )

    def _judge(self, segment):
        self.judged.append(segment.slug)
        if not segment.is_scheduled(self.now):
            return False
        # "all" stops at the first rule that fails, "any" at the first that holds.
        matched = judge_rules(segment.rules, self.context(segment), stop_at=not segment.match_all)
        return self._apply_sticky(segment, matched) if segment.sticky_days else matched

    def _apply_sticky(self, segment, matched):
        until = self.visitor.sticky.get(segment.slug, 0)
        now = self.now.timestamp()
        if matched and until <= now:
            try:
                end = (self.now + timedelta(days=segment.sticky_days)).timestamp()
            except OverflowError:  # stored beyond the model's bounds: as long as a profile keeps
                end = math.inf
            self.visitor.remember_sticky(segment.slug, end)
        return matched or until > now

    def explain(self):
        """Every segment, every rule: matched or not, and the values compared."""
        explanations = []
        for slug, segment in self.definitions.segments.items():
            context = self.context(segment)
            rules = [explain_rule(rule, context) for rule in segment.rules]
            matched = self.is_member(slug)
            until = self.visitor.sticky.get(slug, 0)
            explanations.append(
                SegmentExplanation(
                    slug=slug,
                    name=segment.name,
                    matched=matched,
                    match_all=segment.match_all,
                    scheduled=segment.is_scheduled(self.now),
                    sticky=bool(segment.sticky_days and until > self.now.timestamp()),
                    held_out=self.is_held_out(slug),
                    holdout_percent=segment.holdout_percent,
                    rules=rules,
                )
            )
        return explanations
