"""Rules compiled: each stored rule validated and prepared once, then judged, guarded and explained.

``compile_rule`` never raises: a rule whose type is not registered, or whose
stored value does not validate, compiles to one that never matches and says
why. ``check_rule`` is the only way a rule is asked; it keeps a slow or
failing custom rule from stalling or breaking the request.
"""

import concurrent.futures
import contextvars
import logging
import os
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError

from ..log import log_once
from .base import RULE_TIME_BUDGET
from .registry import registry

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CompiledRule:
    type: str
    stored: dict  # the stored value with defaults filled in, for descriptions
    value: Any = None  # what ``Rule.prepare`` returned
    negate: bool = False
    error: str = ""  # why this rule can never match (unknown type, invalid data)

    @property
    def rule(self):
        return registry.get(self.type)


def compile_rule(block_type, stored, where=""):
    """Validate and prepare one stored rule; never raises."""
    rule = registry.get(block_type)
    if rule is None:
        stored = stored if isinstance(stored, dict) else {}
        return CompiledRule(block_type, stored, error=f"no rule {block_type!r} is registered")
    stored = rule.from_stored(stored)
    value = rule.with_defaults(stored)
    try:
        prepared = rule.prepare(value)
    except (ValidationError, ValueError, TypeError, KeyError) as error:
        message = "; ".join(getattr(error, "messages", None) or [str(error)])
        logger.warning("Segment rule %s%s does not validate: %s", block_type, where, message)
        return CompiledRule(block_type, value, error=f"invalid stored data: {message}")
    return CompiledRule(block_type, value, prepared, negate=bool(stored.get("negate")))


def compile_rules(stream_data, where=""):
    return tuple(
        compile_rule(item.get("type"), item.get("value"), where)
        for item in stream_data or ()
        if isinstance(item, dict)
    )


def describe_rules(stream_data):
    """Readable sentences for stored rules, without preparing them."""
    sentences = []
    for item in stream_data or ():
        rule = registry.get(item.get("type"))
        if rule is None:
            sentences.append(f"unknown rule “{item.get('type')}”")
            continue
        stored = rule.from_stored(item.get("value"))
        sentence = str(rule.describe(rule.with_defaults(stored)))
        sentences.append(f"not {in_sentence(sentence)}" if stored.get("negate") else sentence)
    return sentences


def in_sentence(text):
    """``text`` as the middle of a sentence: "Page views ≥ 3" → "page views ≥ 3" ("UTM" stays)."""
    return text[:1].lower() + text[1:] if text[1:2].islower() else text


@dataclass(slots=True)
class RuleExplanation:
    type: str
    label: str
    description: str
    matched: bool
    negate: bool = False
    observed: Any = None
    error: str = ""
    children: list = field(default_factory=list)


SLOW_ANSWERS_ALLOWED = 3  # answers over RULE_TIME_BUDGET among a rule's last...
SLOW_WINDOW = 10  # ...answers before it is switched off in this process
RULE_THREADS = 8  # per process, for the rules that are not built in
_recent_answers = {}  # (segment slug, rule type) -> its last answers: slow or not
_too_slow = set()
_rule_threads = {}  # process id -> its ThreadPoolExecutor


def check_rule(compiled, context):
    """One rule's verdict, negation applied; a rule that fails counts as not matching.

    Built-in rules run inline, untimed: they are pure and bounded (a regex has
    its own timeout). Any other rule runs in a worker thread and has
    ``RULE_TIME_BUDGET`` to answer: a late answer is not waited for and counts
    as not matching, so a rule that hangs cannot stall the request. A rule
    that raises counts as not matching. A rule slower than the budget
    ``SLOW_ANSWERS_ALLOWED`` times among its last ``SLOW_WINDOW`` answers is
    switched off in this process: it counts as not matching without being
    asked. A single slow answer (the garbage collector or the machine pausing
    the process) switches nothing off.
    """
    return judge_rules((compiled,), context, stop_at=None)


def judge_rules(rules, context, stop_at):
    """``check_rule`` of each of ``rules`` in turn, until one answers ``stop_at``: the last answer.

    A segment's rules are judged in this one loop ("all" stops at the first
    rule that fails, "any" at the first that holds): a page may judge hundreds
    of rules, and built-in ones are asked here directly.
    """
    builtin, matched = registry.builtin, False
    for compiled in rules:
        if compiled.error:
            matched = False
        elif (rule := builtin.get(compiled.type)) is None:
            matched = check_project_rule(compiled, context)
        else:
            try:
                matched = bool(rule.matches(compiled.value, context)) is not compiled.negate
            except TimeoutError as error:  # a regex's own timeout
                log_timed_out(compiled, context, error)
                matched = False
            except Exception:
                log_raised(compiled, context)
                matched = False
        if matched is stop_at:
            break
    return matched


def check_project_rule(compiled, context):
    """A project's rule, in a worker thread within its budget; switched off when too slow."""
    if _too_slow and (_slug(context), compiled.type) in _too_slow:
        return False
    started, timed_out = time.perf_counter(), False
    try:
        result = bool(call_rule(compiled, "matches", context))
    except RuleThreadsBusy:
        log_once(
            "rule-threads",
            "Every thread for segment rules is busy (does a rule hang?); "
            "rules that find none free count as not matching",
        )
        return False
    except TimeoutError as error:
        log_timed_out(compiled, context, error)
        result, timed_out = None, True
    except Exception:
        log_raised(compiled, context)
        result = None
    slow = timed_out or time.perf_counter() - started > RULE_TIME_BUDGET
    if slow or _recent_answers:
        note_answer((_slug(context), compiled.type), slow)
    return result is not None and result != compiled.negate


def log_timed_out(compiled, context, error):
    log_once(
        ("rule", _slug(context), compiled.type),
        "Rule %r of segment %r timed out (%s); it counts as not matching",
        compiled.type,
        _slug(context),
        error,
    )


def log_raised(compiled, context):
    log_once(
        ("rule", _slug(context), compiled.type),
        "Rule %r of segment %r raised; it counts as not matching",
        compiled.type,
        _slug(context),
        exc_info=True,
    )


class RuleThreadsBusy(Exception):
    """No worker thread was free for a rule within its time budget (not the rule's fault)."""


def call_rule(compiled, method, context):
    """``matches`` or ``observed`` of a rule: a built-in inline, any other within the budget."""
    code = getattr(compiled.rule, method)
    if compiled.type in registry.builtin:
        return code(compiled.value, context)
    # The copied context carries the request's context variables (language, time zone...).
    run = contextvars.copy_context().run
    future = rule_threads().submit(run, code, compiled.value, context)
    done, _ = concurrent.futures.wait((future,), timeout=RULE_TIME_BUDGET)
    if not done:
        if future.cancel():
            raise RuleThreadsBusy
        raise TimeoutError(f"no answer within {RULE_TIME_BUDGET * 1000:.0f} ms")
    return future.result()


def rule_threads():
    """This process's worker threads for rules (a forked child starts its own)."""
    threads = _rule_threads.get(os.getpid())
    if threads is None:
        threads = _rule_threads.setdefault(
            os.getpid(),
            concurrent.futures.ThreadPoolExecutor(RULE_THREADS, "wagtail_segments-rule"),
        )
    return threads


def note_answer(key, slow):
    """Count a rule's slow answers among its last ``SLOW_WINDOW``; switch it off at too many."""
    answers = _recent_answers.get(key)
    if answers is None:
        if not slow:
            return
        answers = _recent_answers.setdefault(key, deque(maxlen=SLOW_WINDOW))
    answers.append(slow)
    count = sum(answers)
    if not count:
        _recent_answers.pop(key, None)  # fast again for a whole window: forget it
    elif count >= SLOW_ANSWERS_ALLOWED:
        _too_slow.add(key)
        log_once(
            ("slow", *key),
            "Rule %r of segment %r took over %.0f ms %d times in its last %d answers; "
            "it counts as not matching from now on",
            key[1],
            key[0],
            RULE_TIME_BUDGET * 1000,
            count,
            len(answers),
        )


def _slug(context):
    return context.segment.slug if context.segment else "?"


def explain_rule(compiled, context):
    rule = compiled.rule
    if rule is None or compiled.error:
        return RuleExplanation(
            compiled.type,
            rule.label if rule else compiled.type,
            rule.describe(compiled.stored) if rule else compiled.type,
            matched=False,
            negate=compiled.negate,
            error=compiled.error,
        )
    try:
        observed = call_rule(compiled, "observed", context)
    except Exception as error:
        observed = f"unavailable ({type(error).__name__})"
    return RuleExplanation(
        compiled.type,
        str(rule.label),
        rule.describe(compiled.stored),
        matched=check_rule(compiled, context),
        negate=compiled.negate,
        observed=observed,
        children=[explain_rule(child, context) for child in rule.children(compiled.value)],
    )
