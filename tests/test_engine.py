"""Compiling, caching and lazily judging segments."""

import logging

import pytest
from django.core.cache import cache
from django.test import RequestFactory, override_settings

from tests.factories import InterestFactory, SegmentFactory
from wagtail_segments import engine, log
from wagtail_segments.engine import SegmentSet, load_definitions
from wagtail_segments.models import ManualMember, Segment
from wagtail_segments.rules import Rule, compiled, registry
from wagtail_segments.visitor.profile import VisitorProfile


def pageviews(count, operator="gte", negate=False):
    return ("pageviews", {"operator": operator, "count": count, "negate": negate})


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    engine.invalidate_definitions()
    yield
    cache.clear()


def segment_set(visitor=None):
    return SegmentSet(RequestFactory().get("/"), visitor or VisitorProfile())


def make_segments(count, rules_each=5):
    Segment.objects.bulk_create(
        Segment(
            name=f"Segment {number}",
            slug=f"segment-{number}",
            rules=[pageviews(number % 7, "gte") for _ in range(rules_each)],
        )
        for number in range(count)
    )
    engine.invalidate_definitions()  # bulk_create sends no signals


def test_warm_evaluation_of_100_segments_makes_no_query(db, django_assert_num_queries):
    make_segments(100)
    load_definitions()
    visitor = VisitorProfile()
    visitor.pageviews = 3
    with django_assert_num_queries(0):
        segments = segment_set(visitor)
        matched = [slug for slug in (f"segment-{n}" for n in range(100)) if slug in segments]
    assert len(matched) == sum(1 for n in range(100) if n % 7 <= 3)


def test_cold_process_reads_the_compiled_definitions_from_django_cache(
    db, django_assert_num_queries
):
    make_segments(5)
    load_definitions()
    engine._memory.update(version=None, definitions=None)  # another process, same cache
    with django_assert_num_queries(0):
        assert "segment-0" in segment_set()


def test_another_process_change_is_seen_within_the_recheck_interval(db, monkeypatch, cache_reads):
    clock = [1000.0]
    monkeypatch.setattr(compiled.time, "monotonic", lambda: clock[0])
    make_segments(2)
    assert "new" not in load_definitions().segments
    # Another process adds a segment (no signal here) and stamps a new version in the cache.
    Segment.objects.bulk_create([Segment(name="New", slug="new", rules=[pageviews(0)])])
    cache.set(engine.VERSION_KEY, "from-another-process", None)
    cache_reads.clear()
    clock[0] += 0.5
    assert "new" not in load_definitions().segments
    assert cache_reads == []  # within the interval not even the version is read: no round trip
    clock[0] += 1
    assert "new" in load_definitions().segments
    assert engine.VERSION_KEY in cache_reads


@override_settings(WAGTAIL_SEGMENTS={"DEFINITIONS_RECHECK_SECONDS": 0})
def test_with_no_recheck_interval_every_use_reads_the_version(db):
    make_segments(2)
    load_definitions()
    Segment.objects.bulk_create([Segment(name="New", slug="new", rules=[pageviews(0)])])
    cache.set(engine.VERSION_KEY, "from-another-process", None)
    assert "new" in load_definitions().segments


def test_definitions_cached_by_another_release_are_not_read(db, monkeypatch):
    make_segments(2)
    load_definitions()
    version = cache.get(engine.VERSION_KEY)
    # What the release before left in the shared cache under the same version stamp.
    older = engine.DEFINITIONS_KEY.format(
        release="0.0.1", rules=compiled.registry.fingerprint, version=version
    )
    cache.set(older, "older", None)
    monkeypatch.setattr(engine, "__version__", "0.0.2")
    engine._memory.update(version=None, definitions=None)  # the upgraded process starts
    assert set(load_definitions().segments) == {"segment-0", "segment-1"}


def test_only_segments_asked_about_are_judged(db):
    make_segments(1000, rules_each=1)
    SegmentFactory(slug="nested", rules=[("in_segment", {"segment": "segment-7"})])
    segments = segment_set()
    for slug in ("segment-1", "segment-2", "nested"):
        slug in segments  # noqa: B015
    assert sorted(segments.judged) == ["nested", "segment-1", "segment-2", "segment-7"]


def test_verdicts_are_memoised_until_the_profile_changes(db):
    SegmentFactory(slug="busy", rules=[pageviews(2)])
    visitor = VisitorProfile()
    segments = segment_set(visitor)
    assert "busy" not in segments
    assert "busy" not in segments
    assert segments.judged == ["busy"]
    visitor.record_pageview(1, None)
    visitor.record_pageview(2, None)
    assert "busy" in segments
    assert segments.judged == ["busy", "busy"]


def test_judged_members_follow_the_profile_as_it_changes(db):
    SegmentFactory(slug="anyone", rules=[pageviews(0)])
    SegmentFactory(slug="new-here", rules=[pageviews(2, "lt")])
    SegmentFactory(slug="busy", rules=[pageviews(2)])
    visitor = VisitorProfile()
    segments = segment_set(visitor)
    assert "anyone" in segments and "new-here" in segments and "busy" not in segments
    assert segments.judged_members() == {"anyone", "new-here"}
    # Two page views after the verdicts, then one segment asked: the older verdicts were
    # forgotten, and every segment judged so far is judged again on the new profile.
    visitor.record_pageview(1, None)
    visitor.record_pageview(2, None)
    assert "busy" in segments
    assert segments.judged_members() == {"anyone", "busy"}
    segments.forced = frozenset({"new-here"})
    assert segments.judged_members() == {"new-here"}


def test_facts_rules_share_are_worked_out_again_when_the_profile_changes(db):
    InterestFactory(slug="investing")
    SegmentFactory(
        slug="investor",
        rules=[("interest_score", {"interest": "investing", "operator": "gte", "score": 10})],
    )
    SegmentFactory(
        slug="keen",
        rules=[("interest_score", {"interest": "investing", "operator": "gte", "score": 5})],
    )
    visitor = VisitorProfile()
    segments = segment_set(visitor)
    assert "investor" not in segments
    visitor.add_score("investing", 12)
    assert "keen" in segments and "investor" in segments


def test_saving_a_segment_invalidates_every_process(db):
    segment = SegmentFactory(slug="busy", rules=[pageviews(0)])
    assert "busy" in segment_set()
    segment.rules = [pageviews(5)]
    segment.save()
    assert "busy" not in segment_set()
    segment.delete()
    assert "busy" not in segment_set().definitions.segments


def test_disabled_deleted_and_unknown_segments_never_match(db):
    SegmentFactory(slug="off", enabled=False, rules=[pageviews(0)])
    segments = segment_set()
    assert "off" not in segments
    assert "missing" not in segments
    assert list(segments) == []


def test_schedule_limits_membership(db):
    from datetime import timedelta

    from django.utils import timezone

    now = timezone.now()
    SegmentFactory(slug="later", rules=[pageviews(0)], active_from=now + timedelta(days=1))
    SegmentFactory(slug="over", rules=[pageviews(0)], active_until=now - timedelta(days=1))
    SegmentFactory(
        slug="now",
        rules=[pageviews(0)],
        active_from=now - timedelta(days=1),
        active_until=now + timedelta(days=1),
    )
    assert segment_set().slugs() == ["now"]


def test_iteration_gives_segment_objects_in_priority_order_without_queries(
    db, django_assert_num_queries
):
    SegmentFactory(name="B low", slug="b", priority=1, rules=[pageviews(0)])
    SegmentFactory(name="A high", slug="a", priority=5, rules=[pageviews(0)])
    SegmentFactory(name="C none", slug="c", priority=9, rules=[pageviews(99)])
    load_definitions()
    with django_assert_num_queries(0):
        matched = list(segment_set())
    assert [(s.slug, s.name, s.priority) for s in matched] == [
        ("a", "A high", 5),
        ("b", "B low", 1),
    ]
    assert all(isinstance(s, Segment) for s in matched)


def test_match_any_and_all_and_empty(db):
    SegmentFactory(slug="all", rules=[pageviews(0), pageviews(5)])
    SegmentFactory(slug="any", match=Segment.MATCH_ANY, rules=[pageviews(0), pageviews(5)])
    SegmentFactory(slug="empty", rules=[])
    assert segment_set().slugs() == ["any"]


def test_negate_inverts_a_rule(db):
    SegmentFactory(slug="new", rules=[pageviews(3, negate=True)])
    visitor = VisitorProfile()
    assert "new" in segment_set(visitor)
    visitor.pageviews = 3
    assert "new" not in segment_set(visitor)


class ExplodingRule(Rule):
    slug = "exploding"
    label = "Exploding"

    def matches(self, value, context):
        raise RuntimeError("enrichment service down")


def test_a_raising_rule_counts_as_not_matching_and_is_logged_once(db, caplog):
    with registry.register_temporarily(ExplodingRule):
        SegmentFactory(slug="fragile", match="any", rules=[("exploding", {}), pageviews(0)])
        SegmentFactory(slug="strict", rules=[("exploding", {})])
        log._logged.clear()
        with caplog.at_level(logging.ERROR, logger="wagtail_segments"):
            for _ in range(3):
                segments = segment_set()
                assert "fragile" in segments
                assert "strict" not in segments
        messages = [r.getMessage() for r in caplog.records if "exploding" in r.getMessage()]
        assert len(messages) == 2  # once per segment, not once per request
        assert "'strict'" in " ".join(messages)


def test_unregistered_rule_in_stored_data_never_matches(db):
    segment = SegmentFactory(slug="old", match="any", rules=[])
    Segment.objects.filter(pk=segment.pk).update(
        rules=[{"type": "retired_rule", "value": {}, "id": "x"}]
    )
    engine.invalidate_definitions()
    segments = segment_set()
    assert "old" not in segments
    [explanation] = segments.explain()
    assert "retired_rule" in explanation.rules[0].error


def test_explain_gives_each_rule_and_the_values_compared(db):
    SegmentFactory(slug="busy", rules=[pageviews(3)])
    visitor = VisitorProfile()
    visitor.pageviews = 2
    [explanation] = segment_set(visitor).explain()
    assert (explanation.slug, explanation.matched) == ("busy", False)
    [rule] = explanation.rules
    assert (rule.type, rule.matched, rule.observed) == ("pageviews", False, 2)
    assert rule.description == "Page views ≥ 3"


def test_sticky_segment_keeps_members(db):
    SegmentFactory(slug="busy", sticky_days=7, rules=[pageviews(1)])
    visitor = VisitorProfile()
    visitor.pageviews = 1
    assert "busy" in segment_set(visitor)
    assert "busy" in visitor.sticky and visitor.changed
    visitor.pageviews = 0
    segments = segment_set(visitor)
    assert "busy" in segments
    assert segments.explain()[0].sticky


def test_holdout_is_stable_and_close_to_its_share(db):
    SegmentFactory(slug="all", holdout_percent=20, rules=[pageviews(0)])
    load_definitions()
    held = sum(segment_set().is_held_out("all") for _ in range(2000))
    assert 300 <= held <= 500
    visitor = VisitorProfile(visitor_id="fixed")
    assert segment_set(visitor).is_held_out("all") == segment_set(visitor).is_held_out("all")


def test_manual_members_by_user_and_visitor_id(db, django_user_model):
    segment = SegmentFactory(name="VIP", slug="vip", rules=[("manual", {})])
    user = django_user_model.objects.create_user("vip")
    ManualMember.objects.create(segment=segment, user=user)
    ManualMember.objects.create(segment=segment, visitor_id="listed-visitor")
    request = RequestFactory().get("/")
    request.user = user
    assert "vip" in SegmentSet(request, VisitorProfile())
    assert "vip" in segment_set(VisitorProfile(visitor_id="listed-visitor"))
    assert "vip" not in segment_set(VisitorProfile(visitor_id="someone-else"))


@override_settings(
    CACHES={"default": {"BACKEND": "tests.test_engine.BrokenCache"}},
)
def test_unreachable_cache_still_serves_segments(db, caplog):
    SegmentFactory(slug="busy", rules=[pageviews(0)])
    engine._memory.update(version=None, definitions=None)
    log._logged.clear()
    with caplog.at_level(logging.ERROR):
        assert "busy" in segment_set()
        assert "busy" in segment_set()
    assert sum("cannot use its cache" in r.getMessage() for r in caplog.records) == 1


from django.core.cache.backends.locmem import LocMemCache  # noqa: E402


class BrokenCache(LocMemCache):
    def __init__(self, *args, **kwargs):
        super().__init__("broken", {})

    def get(self, *args, **kwargs):
        raise ConnectionError("cache server unreachable")

    add = set = get


def test_saving_or_deleting_an_interest_invalidates_the_definitions(db):
    interest = InterestFactory(slug="investing")
    SegmentFactory(
        slug="investors",
        rules=[("interest_score", {"interest": "investing", "operator": "gte", "score": 10})],
    )
    assert not load_definitions().segments["investors"].rules[0].error
    interest.delete()
    # The rule now names an interest that does not exist: it compiles as never matching.
    assert "Unknown interest" in load_definitions().segments["investors"].rules[0].error


def test_the_sandbox_registers_its_own_rule_like_any_project():
    from pages.segment_rules import CompanySizeRule

    assert type(registry.get("company_size")) is CompanySizeRule
    rule = compiled.compile_rule("company_size", {"minimum": 50})
    big = RequestFactory().get("/", headers={"X-Company-Size": "120"})
    small = RequestFactory().get("/", headers={"X-Company-Size": "12"})
    unknown = RequestFactory().get("/", headers={"X-Company-Size": "lots"})
    verdicts = [
        compiled.check_rule(rule, SegmentSet(request, VisitorProfile()).context(None))
        for request in (big, small, unknown)
    ]
    assert verdicts == [True, False, False]


@pytest.mark.parametrize(
    ("sentence", "inside"),
    [("Page views ≥ 3", "page views ≥ 3"), ("UTM source", "UTM source"), ("", ""), ("X", "X")],
)
def test_rule_sentences_read_as_one_line(sentence, inside):
    assert compiled.in_sentence(sentence) == inside


def variant(*slugs, match="any"):
    from wagtail_segments.blocks.loading import Variant

    return Variant(slugs, match, False, "content")


def test_choose_gives_the_first_variant_targeting_the_visitor(db):
    SegmentFactory(slug="yes", rules=[pageviews(0)])
    SegmentFactory(slug="also", rules=[pageviews(0)])
    SegmentFactory(slug="no", rules=[pageviews(5)])
    segments = segment_set()
    variants = [variant("no"), variant("yes", "no", match="all"), variant(), variant("yes")]
    assert segments.choose(variants) == (4, 4)
    assert segments.choose([variant("no", "yes"), variant("also")]) == (1, 1)
    assert segments.choose([variant("yes", "also", match="all")]) == (1, 1)
    assert segments.choose([variant("no"), variant("missing")]) == (0, 0)
    assert segments.asked == {"yes", "no", "also", "missing"}
    segments.forced = frozenset({"no"})
    assert segments.choose(variants) == (1, 1)


def test_choose_counts_a_holdout_member_against_the_variant_they_miss(db):
    SegmentFactory(slug="kept", holdout_percent=100, rules=[pageviews(0)])
    SegmentFactory(slug="shown", rules=[pageviews(0)])
    segments = segment_set()
    assert segments.choose([variant("kept")]) == (0, 1)
    assert segments.choose([variant("kept"), variant("shown")]) == (2, 2)
    assert segments.is_held_out("kept") and not segments.is_held_out("shown")
    segments.forced = frozenset({"kept"})  # a preview shows the segment's content
    assert segments.choose([variant("kept")]) == (1, 1)
    assert not segments.is_held_out("kept")


def test_choose_judges_again_once_the_profile_changes(db):
    SegmentFactory(slug="busy", rules=[pageviews(1)])
    visitor = VisitorProfile()
    segments = segment_set(visitor)
    assert segments.choose([variant("busy")]) == (0, 0)
    for page_id in (1, 2, 3):
        visitor.record_pageview(page_id, now=None)
    assert segments.choose([variant("busy")]) == (1, 1)


def test_a_fact_is_worked_out_once_per_profile_revision(db):
    from wagtail_segments.rules.base import RuleContext

    worked_out = []

    def compute(context):
        worked_out.append(context.visitor.revision)
        return len(worked_out)

    visitor = VisitorProfile()
    segments = segment_set(visitor)
    assert segments.context(None).fact(compute) == segments.context(None).fact(compute) == 1
    visitor.add_score("topic", 1)
    assert segments.context(None).fact(compute) == 2
    by_hand = RuleContext(None, visitor, None, None, None)  # no facts: worked out when asked
    assert (by_hand.fact(compute), by_hand.fact(compute)) == (3, 4)
