"""The built-in rule catalogue, registered exactly as a project registers its own.

Stored values are plain JSON (see ``docs/reference/rules.md``): times as
"HH:MM", pages by id, segments and interests by slug, multi-value fields as
lists. ``prepare`` validates and converts them once, when segments compile.
"""

import operator

from django.utils.translation import gettext_lazy as _
from wagtail import blocks

from .base import Rule, field_error
from .registry import register

OPERATORS = {
    "lt": (operator.lt, "<"),
    "lte": (operator.le, "≤"),
    "eq": (operator.eq, "="),
    "gte": (operator.ge, "≥"),
    "gt": (operator.gt, ">"),
    "neq": (operator.ne, "≠"),
}


def operator_block(default="gte"):
    return blocks.ChoiceBlock(
        choices=[(key, symbol) for key, (_, symbol) in OPERATORS.items()],
        default=default,
        label=_("Operator"),
    )


def compare(operator_name, left, right):
    return OPERATORS[operator_name][0](left, right)


def check_operator(value, name="operator"):
    if value.get(name) not in OPERATORS:
        raise field_error(name, f"Choose one of {', '.join(OPERATORS)}.")


class CountRule(Rule):
    """A count of the visitor's compared with a number: ``operator`` and ``count``."""

    fields = [
        ("operator", operator_block()),
        ("count", blocks.IntegerBlock(min_value=0, default=1, label=_("Count"))),
    ]

    def count(self, value, context):
        raise NotImplementedError

    def prepare(self, value):
        check_operator(value)
        if not isinstance(value.get("count"), int) or value["count"] < 0:
            raise field_error("count", "Enter a whole number, 0 or more.")
        return value

    def matches(self, value, context):
        return compare(value["operator"], self.count(value, context), value["count"])

    def observed(self, value, context):
        return self.count(value, context)

    def describe(self, value):
        return f"{self.label} {OPERATORS[value['operator']][1]} {value['count']}"


@register
class PageviewsRule(CountRule):
    slug = "pageviews"
    label = _("Page views")
    icon = "doc-full"
    help_text = _("The visitor's page views on this site, all visits together.")

    def count(self, value, context):
        return context.visitor.pageviews


@register
class AnyOfRule(Rule):
    """OR inside AND: true when any of its nested rules is true."""

    slug = "any_of"
    label = _("Any of")
    icon = "list-ul"
    help_text = _("True when any of these rules is true.")

    @property
    def fields(self):
        from .registry import registry

        return [("rules", registry.stream_block(exclude={self.slug}, label=_("Rules")))]

    def prepare(self, value):
        from ..engine import compile_rules

        nested = compile_rules(value.get("rules") or [])
        broken = [rule for rule in nested if rule.error]
        if broken:
            raise field_error("rules", f"{broken[0].type}: {broken[0].error}")
        if not nested:
            raise field_error("rules", "Add at least one rule.")
        return nested

    def matches(self, value, context):
        from ..engine import check_rule

        return any(check_rule(rule, context) for rule in value)

    def children(self, value):
        return value

    def depends_on(self, value):
        return {slug for rule in value for slug in rule.rule.depends_on(rule.value)}

    def describe(self, value):
        return f"{self.label}: {len(value.get('rules') or [])} rules"
