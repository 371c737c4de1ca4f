"""The stream of a segment's rules, which keeps rules of types that are not registered.

Wagtail drops the items of unknown block types when it loads a stream, so a
segment saved by a process that lacks a rule (its class was removed, or the
module registering it was not imported) would lose that rule, and an "all
rules" segment would silently widen. Here every slug has a block: an
unregistered one gets an ``UnavailableRule`` that keeps the stored value as it
is. The editor shows such a rule read-only (it is never offered in the menu)
and posts it back unchanged; the engine never matches it.
"""

import json
from functools import lru_cache

from django import forms
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from wagtail import blocks
from wagtail.admin.telepath import register
from wagtail.blocks.stream_block import StreamBlockAdapter

from .base import group_order

UNAVAILABLE = "unavailable_rule"  # the editor's block for them; no rule may take this slug


class RuleBlocks(dict):
    """Rule blocks by slug, where every slug has one: see the module's docstring."""

    def __contains__(self, slug):
        return isinstance(slug, str)

    def __missing__(self, slug):
        if not isinstance(slug, str):
            raise KeyError(slug)
        return unavailable_rule(slug)


@lru_cache(maxsize=256)
def unavailable_rule(slug):
    block = UnavailableRule(label=_("Unavailable rule (type %(type)s)") % {"type": slug})
    block.set_name(slug)
    return block


class UnavailableRule(blocks.Block):
    """A stored rule of an unregistered type: its value is kept as it is."""

    def value_from_datadict(self, data, files, prefix):
        # A form rendered while the rule was registered: this process cannot read its
        # fields; ``None`` asks ``Segment.clean`` to keep the stored value.
        return None


class StoredValueBlock(blocks.FieldBlock):
    """A stored value as JSON, in a read-only input, posted back as it was."""

    def __init__(self, **kwargs):
        self.field = forms.CharField(
            required=False, widget=forms.TextInput(attrs={"readonly": True})
        )
        super().__init__(**kwargs)

    def value_for_form(self, value):
        return json.dumps(value, ensure_ascii=False)

    def value_from_form(self, value):
        try:
            return json.loads(value)
        except (TypeError, ValueError):
            return None


def unavailable_rule_form():
    """The editor's read-only view of an unavailable rule: its type and stored value."""
    rule_type = blocks.CharBlock(label=_("Type"))
    rule_type.field.widget.attrs["readonly"] = True
    block = blocks.StructBlock(
        [("type", rule_type), ("value", StoredValueBlock(label=_("Stored value")))],
        label=_("Unavailable rule"),
        icon="warning",
        help_text=_(
            "No rule of this type is registered, so it never matches. It is kept as it is "
            "until its type is registered again; delete it to remove it."
        ),
    )
    block.set_name(UNAVAILABLE)
    return block


class RuleStreamBlock(blocks.StreamBlock):
    """The registered rules, offered in the editor, plus any unavailable rule, kept."""

    def __init__(self, local_blocks=None, **kwargs):
        super().__init__(local_blocks, **kwargs)
        self.child_blocks = RuleBlocks(self.child_blocks)
        self.child_blocks[UNAVAILABLE] = unavailable_rule_form()

    def ordered_child_blocks(self):
        """The blocks the editor offers: the registered rules, group by group."""
        offered = [block for name, block in self.child_blocks.items() if name != UNAVAILABLE]
        return sorted(offered, key=lambda block: group_order(block.meta.group))

    def get_form_state(self, value):
        return [self._child_form_state(child) for child in value or ()]

    def _child_form_state(self, child):
        block, value = child.block, child.value
        if isinstance(block, UnavailableRule):
            block, value = self.child_blocks[UNAVAILABLE], {"type": block.name, "value": value}
        return {"type": block.name, "value": block.get_form_state(value), "id": child.id}

    def value_from_datadict(self, data, files, prefix):
        stream = super().value_from_datadict(data, files, prefix)
        return blocks.StreamValue(self, [_from_form(child) for child in stream])


def _from_form(child):
    """An unavailable rule as the editor posted it, back under its own type."""
    if child.block_type != UNAVAILABLE or not (child.value["type"] or "").isidentifier():
        return child  # a registered rule, or a tampered one (refused by ``clean``)
    return child.value["type"], child.value["value"], child.id


class RuleStreamBlockAdapter(StreamBlockAdapter):
    """In the editor, unavailable rules are rendered but never offered in the menu."""

    js_constructor = "wagtail_segments.RuleStreamBlock"

    def js_args(self, block):
        return [*super().js_args(block), block.child_blocks[UNAVAILABLE]]

    @cached_property
    def media(self):
        return super().media + forms.Media(js=["wagtail_segments/js/rule-stream-block.js"])


register(RuleStreamBlockAdapter(), RuleStreamBlock)
