"""The rule API: what a segment parameter is, and the context it is judged in.

Built-in rules and a project's own rules are written the same way: subclass
``Rule``, declare its ``fields`` as Wagtail blocks, implement ``matches`` and
``register`` it. The package builds the editor block (adding ``negate``), the
validation and the explanation shown in the cockpit from that one class.
"""

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from wagtail import blocks

# Seconds a rule has to answer on the request path. A project's rule that takes longer
# counts as not matching; a rule slow too often is switched off (see ``engine.check_rule``).
RULE_TIME_BUDGET = 0.05

# The segment editor offers rules under these headings, in this order. A rule names its
# group by key; a project's rule naming none, or one of its own (any text, shown as the
# heading), comes after them.
RULE_GROUPS = {
    "visit": _("Visit and source"),
    "device": _("Device and place"),
    "behaviour": _("Behaviour"),
    "interests": _("Interests"),
    "people": _("People"),
    "advanced": _("Advanced"),
}
OWN_RULES = _("This site's rules")


@dataclass(slots=True)
class RuleContext:
    """What a rule may look at while it decides.

    ``now`` is read once per request (``timezone.localtime()``) so every rule
    of one request sees the same moment; ``segments`` is the request's
    ``SegmentSet`` (for rules that depend on other segments) and ``segment``
    the compiled segment being judged.
    """

    request: Any
    visitor: Any
    page: Any
    now: Any
    segments: Any
    segment: Any = None
    facts: dict | None = None  # the request's facts for this profile revision (``fact``)

    def fact(self, compute):
        """``compute(self)``, worked out once per request and visitor profile revision.

        For what many rules of a request read (the parsed user agent, the decayed
        interest scores): ``compute`` is the cache key, so pass a module-level function.
        """
        facts = self.facts
        if facts is None:
            return compute(self)
        try:
            return facts[compute]
        except KeyError:
            found = facts[compute] = compute(self)
            return found


class Rule:
    """A segment parameter: one condition a visitor meets or not.

    Subclasses set ``slug`` (the block name stored in ``Segment.rules``; never
    change it once content uses it), ``label``, ``icon``, ``fields`` (a list of
    ``(name, block)`` pairs, stored as plain JSON) and implement ``matches``;
    ``group`` places the rule in the editor's menu (a key of ``RULE_GROUPS``, or
    a heading of the project's own).
    """

    slug = ""
    label = ""
    icon = "cog"
    help_text = ""
    group = ""
    fields: list = []

    def matches(self, value, context) -> bool:
        """Decide for this visitor. ``value`` is what ``prepare`` returned."""
        raise NotImplementedError

    def prepare(self, value):
        """Turn a stored value (JSON, defaults filled in) into what ``matches`` needs.

        It runs once when segments are compiled, and when an editor saves, so
        it is also the validation: raise ``ValidationError({"field": "message"})``
        for data that cannot work. The result must pickle (it is cached).
        """
        return value

    def observed(self, value, context):
        """The visitor's side of the comparison, shown by ``explain()``; None if none."""
        return None

    def describe(self, value) -> str:
        """A short readable sentence for listings and explanations."""
        shown = ", ".join(f"{name}: {_readable(value.get(name))}" for name, _ in self.fields)
        return f"{self.label} ({shown})" if shown else str(self.label)

    def depends_on(self, value):
        """Slugs of the segments this rule's verdict depends on."""
        return ()

    def children(self, value):
        """Compiled rules nested in this one (``any_of``), for explanations."""
        return ()

    # -- derived from the declaration ------------------------------------------------------

    def from_stored(self, stored):
        """The stored value as a dict of fields; anything else stands for no fields."""
        return stored if isinstance(stored, dict) else {}

    def defaults(self):
        return {name: block.get_prep_value(block.get_default()) for name, block in self.fields}

    def with_defaults(self, stored):
        """The stored value with omitted fields set to their defaults, ``negate`` removed."""
        value = self.defaults()
        value.update({key: item for key, item in (stored or {}).items() if key != "negate"})
        return value

    def build_block(self):
        return RuleBlock(self)

    def __repr__(self):
        return f"<Rule {self.slug}>"


def group_heading(group):
    """The heading the editor's menu shows a rule's ``group`` under."""
    return RULE_GROUPS.get(group) or group or OWN_RULES


def group_order(heading):
    """Where a group's ``heading`` comes in the menu: the built-in groups, a project's, then
    the project's rules that name no group."""
    headings = list(RULE_GROUPS.values())
    if heading in headings:
        return headings.index(heading)
    return len(headings) + (heading == OWN_RULES)


def _readable(value):
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value) or "–"
    return "–" if value in (None, "") else str(value)


class RuleBlock(blocks.StructBlock):
    """The editor form of one rule: its fields plus ``negate``, validated by ``Rule.prepare``."""

    def __init__(self, rule, **kwargs):
        self.rule = rule
        children = [*rule.fields, ("negate", negate_block())]
        super().__init__(
            children,
            label=rule.label,
            icon=rule.icon,
            help_text=rule.help_text or None,
            group=group_heading(rule.group),
            **kwargs,
        )

    # Stored values, and values written in code, are read through the rule's ``from_stored``.
    def to_python(self, value):
        return super().to_python(self.rule.from_stored(value))

    def bulk_to_python(self, values):
        return super().bulk_to_python([self.rule.from_stored(value) for value in values])

    def normalize(self, value):
        return super().normalize(self.rule.from_stored(value))

    def clean(self, value):
        value = super().clean(value)
        try:
            self.rule.prepare(self.rule.with_defaults(self.get_prep_value(value)))
        except ValidationError as error:
            if not hasattr(error, "error_dict"):
                raise blocks.StructBlockValidationError(non_block_errors=error.messages) from None
            raise blocks.StructBlockValidationError(
                block_errors={name: errors[0] for name, errors in error.error_dict.items()}
            ) from None
        return value


def negate_block():
    return blocks.BooleanBlock(
        required=False,
        label="Negate",
        help_text="Match visitors for whom this condition is false.",
    )


def field_error(field, message):
    """A ``ValidationError`` the editor shows next to the named field."""
    return ValidationError({field: [ValidationError(message)]})
