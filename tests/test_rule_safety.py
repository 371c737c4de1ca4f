"""No rule stalls a worker, and no process loses or poisons another's rules.

A backtracking regex and a hanging custom rule answer within a bound while
other visitors are served; a rule slow too often is switched off; rules of a
type that is not registered survive the editor and saves; and a process whose
registry differs (it never loaded Wagtail's hooks) neither hands its compiled
rules to others nor drops the rules it cannot read.
"""

import json
import logging
import os
import threading
import time

import pytest
from django.test import RequestFactory
from django.urls import reverse

from tests.factories import SegmentFactory, segment_form, visitor_client
from tests.processes import run_another_process
from wagtail_segments import engine, log
from wagtail_segments.engine import SegmentSet
from wagtail_segments.models import Segment
from wagtail_segments.rules import Rule
from wagtail_segments.rules import compiled as compiled_rules
from wagtail_segments.rules.compiled import check_rule, compile_rule
from wagtail_segments.rules.registry import registry
from wagtail_segments.visitor.profile import VisitorProfile

REDIS_URL = "redis://127.0.0.1:6379/5"
# Backtracks without end: `re` needs seconds for this referrer, and forever for a longer one.
BACKTRACKING = r"(a|aa)+$"
EVIL_REFERRER = "https://" + "a" * 32 + "b.example/"
BOUND = 1.0  # seconds: the rule's budget plus a generous margin for a loaded machine


@pytest.fixture(autouse=True)
def fresh_engine():
    engine._memory.update(version=None, definitions=None)
    compiled_rules._too_slow.clear()
    compiled_rules._recent_answers.clear()
    log._logged.clear()
    yield
    compiled_rules._too_slow.clear()
    compiled_rules._recent_answers.clear()
    engine._memory.update(version=None, definitions=None)
    # A rule left backtracking or hanging keeps its thread: later tests get new threads.
    threads = compiled_rules._rule_threads.pop(os.getpid(), None)
    if threads is not None:
        threads.shutdown(wait=False, cancel_futures=True)


def timed(call, *args, **kwargs):
    started = time.perf_counter()
    result = call(*args, **kwargs)
    return time.perf_counter() - started, result


def in_thread(call):
    """Start ``call`` in a thread; the returned list receives its (elapsed, result)."""
    answers = []
    thread = threading.Thread(target=lambda: answers.append(timed(call)), daemon=True)
    thread.start()
    return thread, answers


def member_slugs(client):
    response = client.get("/personalisation/segments/")
    assert response.status_code == 200
    return [segment["slug"] for segment in response.json()["segments"]]


def rule_context(request=None, segment=None):
    request = request or RequestFactory().get("/")
    return SegmentSet(request, VisitorProfile()).context(segment)


# -- 1. editor regexes --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "rule_type, stored",
    [
        ("cookie", {"name": "plan", "match": "regex", "value": BACKTRACKING}),
        ("referrer", {"match": "regex", "value": BACKTRACKING}),
    ],
)
def test_a_backtracking_regex_gives_up_within_the_budget(rule_type, stored, caplog):
    request = RequestFactory().get("/")
    request.COOKIES["plan"] = EVIL_REFERRER
    context = rule_context(request)
    context.visitor.referrer = EVIL_REFERRER
    compiled = compile_rule(rule_type, stored)
    assert not compiled.error
    with caplog.at_level(logging.ERROR):
        for _ in range(2):
            elapsed, matched = timed(check_rule, compiled, context)
            assert matched is False
            assert elapsed < BOUND
    timeouts = [r.getMessage() for r in caplog.records if "timed out" in r.getMessage()]
    assert len(timeouts) == 1  # logged once, not once per request
    assert f"Rule {rule_type!r}" in timeouts[0]


def test_a_regex_that_matches_quickly_still_matches():
    context = rule_context()
    context.visitor.referrer = "https://news.example.com/story"
    assert check_rule(compile_rule("referrer", {"match": "regex", "value": r"NEWS\."}), context)
    refused = compile_rule("referrer", {"match": "regex", "value": "(unclosed"})
    assert "not a valid regular expression" in refused.error


@pytest.mark.django_db(transaction=True)
def test_a_backtracking_referrer_regex_stalls_no_request(pages):
    SegmentFactory(slug="regex", rules=[("referrer", {"match": "regex", "value": BACKTRACKING})])
    bad = visitor_client()
    assert bad.get("/savings/", HTTP_REFERER=EVIL_REFERRER).status_code == 200  # starts the visit
    other = visitor_client()
    member_slugs(other)  # compiled and warm

    thread, answers = in_thread(lambda: member_slugs(bad))
    time.sleep(0.01)
    elapsed, slugs = timed(member_slugs, other)
    assert elapsed < BOUND, "another visitor waited for the backtracking regex"
    assert slugs == []
    thread.join(timeout=60)
    assert answers, "the request with the backtracking referrer never returned"
    bad_elapsed, bad_slugs = answers[0]
    assert bad_elapsed < BOUND
    assert bad_slugs == []  # a regex that gives up counts as not matching


# -- 2. custom rules that hang or are slow ------------------------------------------------------


class HangingRule(Rule):
    """A custom rule blocked on I/O (a remote call without a timeout)."""

    slug = "hanging_lookup"
    label = "Hanging lookup"
    release = threading.Event()
    calls = 0

    def matches(self, value, context):
        type(self).calls += 1
        self.release.wait(5)
        return True


@pytest.fixture
def hanging_rule():
    HangingRule.release.clear()
    HangingRule.calls = 0
    with registry.register_temporarily(HangingRule):
        yield HangingRule
    HangingRule.release.set()  # let the worker threads go


@pytest.mark.django_db(transaction=True)
def test_a_hanging_custom_rule_stalls_no_request(pages, hanging_rule):
    SegmentFactory(slug="hangs", rules=[("hanging_lookup", {})])
    SegmentFactory(slug="everyone", rules=[("new_visitor", {})])
    member_slugs(visitor_client())  # compiled and warm (and the rule answered late once)

    thread, answers = in_thread(lambda: member_slugs(visitor_client()))
    time.sleep(0.01)
    elapsed, slugs = timed(member_slugs, visitor_client())
    assert elapsed < BOUND, "another visitor waited for the hanging rule"
    assert slugs == ["everyone"]
    thread.join(timeout=30)
    assert answers and answers[0][0] < BOUND
    assert answers[0][1] == ["everyone"]  # the late answer counts as not matching
    assert not hanging_rule.release.is_set()  # the rule was still hanging meanwhile


def test_a_hanging_rule_answers_within_the_budget_and_is_then_switched_off(hanging_rule, caplog):
    compiled = compile_rule("hanging_lookup", {})
    context = rule_context(segment=None)
    with caplog.at_level(logging.ERROR):
        timings = [timed(check_rule, compiled, context) for _ in range(5)]
    assert [matched for _, matched in timings] == [False] * 5
    assert all(elapsed < BOUND for elapsed, _ in timings)
    # Asked until it was slow SLOW_ANSWERS_ALLOWED times, then never again.
    assert hanging_rule.calls == compiled_rules.SLOW_ANSWERS_ALLOWED
    messages = [record.getMessage() for record in caplog.records]
    assert sum("counts as not matching from now on" in message for message in messages) == 1


class SometimesSlowRule(Rule):
    slug = "sometimes_slow"
    label = "Sometimes slow"
    slow_calls = set()  # which calls (counted from 0) take longer than the budget
    calls = 0

    def matches(self, value, context):
        call = type(self).calls
        type(self).calls += 1
        if call in self.slow_calls:
            time.sleep(compiled_rules.RULE_TIME_BUDGET * 2)
        return True


@pytest.mark.parametrize(
    "slow_calls, switched_off",
    [
        ({0, 2, 4}, True),  # slow on every other call
        ({1, 8, 9}, True),  # three slow among ten
        ({3}, False),  # a single pause (the garbage collector, a busy machine)
        ({0, 9, 19, 29}, False),  # now and then: never three within ten
    ],
)
def test_a_rule_slow_too_often_is_switched_off(slow_calls, switched_off):
    SometimesSlowRule.slow_calls, SometimesSlowRule.calls = slow_calls, 0
    with registry.register_temporarily(SometimesSlowRule):
        compiled = compile_rule("sometimes_slow", {})
        context = rule_context()
        answers = [check_rule(compiled, context) for _ in range(30)]
    assert (("?", "sometimes_slow") in compiled_rules._too_slow) is switched_off
    asked_until = SometimesSlowRule.calls
    if switched_off:
        assert asked_until == max(slow_calls) + 1 and not any(answers[asked_until:])
    else:
        assert asked_until == 30
        assert answers == [call not in slow_calls for call in range(30)]


def test_built_in_rules_run_inline(monkeypatch):
    def no_threads():
        raise AssertionError("a built-in rule asked for a worker thread")

    monkeypatch.setattr(compiled_rules, "rule_threads", no_threads)
    context = rule_context()
    assert check_rule(compile_rule("new_visitor", {}), context)
    assert not check_rule(compile_rule("pageviews", {"operator": "gte", "count": 3}), context)


# -- 3. rules whose type is not registered ------------------------------------------------------

UTM = {"parameter": "campaign", "value": "campus"}
UNREGISTERED = {"level": 3, "region": "north"}


@pytest.fixture
def segment_with_an_unregistered_rule(db):
    segment = SegmentFactory(
        slug="campus-insiders",
        match=Segment.MATCH_ALL,
        rules=[("utm", UTM), ("custom_x", UNREGISTERED)],
    )
    return Segment.objects.get(pk=segment.pk)


def stored_types(segment):
    return [item["type"] for item in Segment.objects.get(pk=segment.pk).rules.raw_data]


def edit_form(segment, rules):
    """The edit form as posted: ``rules`` are (type, value, stored id) triples."""
    return segment_form(
        [(kind, value) for kind, value, _ in rules],
        [block_id for _, _, block_id in rules],
        name=segment.name,
        slug=segment.slug,
        match=segment.match,
    )


def utm_visitor_matches(slug):
    visitor = VisitorProfile()
    visitor.utm = {"campaign": "campus"}
    engine.invalidate_definitions()
    return slug in SegmentSet(RequestFactory().get("/"), visitor)


def test_an_unregistered_rule_survives_the_editor(admin_client, segment_with_an_unregistered_rule):
    segment = segment_with_an_unregistered_rule
    ids = [item["id"] for item in segment.rules.raw_data]
    assert stored_types(segment) == ["utm", "custom_x"]

    edit_url = reverse("wagtail_segments_segments:edit", args=[segment.pk])
    page = admin_client.get(edit_url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Unavailable rule" in html and "custom_x" in html
    assert "rule-stream-block.js" in html  # renders it without offering it in the menu

    # The form posts the unavailable rule back as it rendered it: read-only, unchanged.
    unavailable = {"type": "custom_x", "value": json.dumps(UNREGISTERED)}
    data = edit_form(
        segment,
        [("utm", {**UTM, "negate": ""}, ids[0]), ("unavailable_rule", unavailable, ids[1])],
    )
    assert admin_client.post(edit_url, data).status_code == 302
    stored = Segment.objects.get(pk=segment.pk).rules.raw_data
    assert [(item["type"], item["value"], item["id"]) for item in stored] == [
        ("utm", {**UTM, "negate": False}, ids[0]),
        ("custom_x", UNREGISTERED, ids[1]),
    ]
    assert not utm_visitor_matches(segment.slug)  # "all rules": the unknown one never matches
    assert "unknown rule “custom_x”" in Segment.objects.get(pk=segment.pk).rules_summary()


def test_an_editor_may_delete_an_unavailable_rule(admin_client, segment_with_an_unregistered_rule):
    segment = segment_with_an_unregistered_rule
    ids = [item["id"] for item in segment.rules.raw_data]
    data = edit_form(segment, [("utm", {**UTM, "negate": ""}, ids[0])])
    edit_url = reverse("wagtail_segments_segments:edit", args=[segment.pk])
    assert admin_client.post(edit_url, data).status_code == 302
    assert stored_types(segment) == ["utm"]
    assert utm_visitor_matches(segment.slug)


def test_a_stale_form_keeps_a_rule_this_process_cannot_read(
    admin_client, segment_with_an_unregistered_rule
):
    # Rendered while custom_x was registered, the form posts its fields; this process
    # cannot read them, so the stored value stays.
    segment = segment_with_an_unregistered_rule
    ids = [item["id"] for item in segment.rules.raw_data]
    data = edit_form(
        segment,
        [
            ("utm", {**UTM, "negate": ""}, ids[0]),
            ("custom_x", {"level": "4", "negate": ""}, ids[1]),
        ],
    )
    edit_url = reverse("wagtail_segments_segments:edit", args=[segment.pk])
    assert admin_client.post(edit_url, data).status_code == 302
    stored = Segment.objects.get(pk=segment.pk).rules.raw_data
    assert [(item["type"], item["value"]) for item in stored] == [
        ("utm", {**UTM, "negate": False}),
        ("custom_x", UNREGISTERED),
    ]


def test_an_unreadable_rule_without_a_stored_copy_is_refused(
    admin_client, segment_with_an_unregistered_rule
):
    segment = segment_with_an_unregistered_rule
    data = edit_form(segment, [("custom_x", {"level": "4"}, "not-a-stored-id")])
    edit_url = reverse("wagtail_segments_segments:edit", args=[segment.pk])
    response = admin_client.post(edit_url, data)
    assert response.status_code == 200
    assert "reload the editor" in response.content.decode()
    assert stored_types(segment) == ["utm", "custom_x"]  # nothing lost


def test_a_save_in_code_keeps_an_unregistered_rule(segment_with_an_unregistered_rule):
    segment = segment_with_an_unregistered_rule
    segment.enabled = False
    segment.save()
    assert stored_types(segment) == ["utm", "custom_x"]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_editor_shows_an_unavailable_rule_and_saves_it_unchanged(
    live_server, browser_page, django_user_model
):
    django_user_model.objects.create_superuser("editor", "editor@example.com", "pw")
    segment = SegmentFactory(
        slug="campus-insiders",
        rules=[("utm", UTM), ("custom_x", UNREGISTERED)],
    )
    page = browser_page
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "editor")
    page.fill("#id_password", "pw")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
    page.goto(f"{live_server.url}/admin/personalisation/segments/edit/{segment.pk}/")
    rule_type = page.locator("input[name$='-value-type']")
    assert rule_type.input_value() == "custom_x"
    assert rule_type.get_attribute("readonly") is not None
    assert page.get_by_text("Unavailable rule").first.is_visible()
    page.locator("button[title='Insert a block']").last.click()
    assert page.get_by_role("option", name="UTM parameter", exact=True).is_visible()
    assert page.get_by_role("option", name="Unavailable rule").count() == 0  # never offered
    page.keyboard.press("Escape")
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url(f"{live_server.url}/admin/personalisation/segments/")
    stored = Segment.objects.get(pk=segment.pk).rules.raw_data
    assert [(item["type"], item["value"]) for item in stored] == [
        ("utm", {**UTM, "negate": False}),
        ("custom_x", UNREGISTERED),
    ]
    assert errors == []


def test_no_rule_may_take_the_editors_slug_for_unavailable_rules():
    from django.core.exceptions import ImproperlyConfigured

    class Squatter(Rule):
        slug = "unavailable_rule"

    with pytest.raises(ImproperlyConfigured, match="unavailable_rule"):
        registry.register(Squatter)


# -- 4. processes with different registries share one cache -------------------------------------


@pytest.fixture
def redis_url():
    return REDIS_URL


@pytest.fixture
def partners(transactional_db, shared_redis):
    from wagtail.hooks import search_for_hooks

    search_for_hooks()  # this process serves pages: Wagtail has loaded every app's hooks
    assert "referral_code" in registry  # registered by tests/testapp/wagtail_hooks.py
    return SegmentFactory(slug="partners", rules=[("referral_code", {"code": "harbour"})])


def referred_visitor_matches():
    request = RequestFactory().get("/")
    request.COOKIES["referral"] = "harbour"
    return "partners" in SegmentSet(request, VisitorProfile())


def test_a_process_that_never_imported_the_hooks_loads_them_before_it_compiles(
    partners, tmp_path, django_assert_num_queries
):
    other = run_another_process(tmp_path, hooks="unloaded")
    assert other["errors"] == [""]  # it found the rule registered in wagtail_hooks.py
    engine._memory.update(version=None, definitions=None)
    with django_assert_num_queries(0):  # its compiled rules are shared: same registry
        engine.load_definitions()
    assert referred_visitor_matches()


def test_a_process_with_another_registry_does_not_poison_the_cache(partners, tmp_path):
    other = run_another_process(tmp_path, hooks="unavailable")
    assert other["errors"] == ["no rule 'referral_code' is registered"]
    engine._memory.update(version=None, definitions=None)
    assert referred_visitor_matches()  # not its compiled rules: this process compiled its own


def test_a_save_from_a_process_without_the_rule_keeps_it(partners, tmp_path):
    other = run_another_process(tmp_path, hooks="unavailable", save_first=True)
    assert other["stored"] == ["referral_code"]
