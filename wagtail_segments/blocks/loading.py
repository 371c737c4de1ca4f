"""Loading personalised blocks in bulk: what a page pays for every block it holds.

``PersonalisedBlock.bulk_to_python`` would, as a plain ``StructBlock``, build
a ``StructValue`` and a ``ListValue`` of ``StructValue``s for every variant of
every block. Here the defaults and the variants' contents are each converted
in one ``bulk_to_python`` call, and the variants stay plain tuples until the
editor, the API or an export asks for blocks.

It leans on Wagtail internals, pinned by tests/test_block_loading.py so that
an upgrade that changes them fails loudly rather than silently:

- ``wagtail.blocks.list_block.ListValue.ListChild`` (subclassed here, with
  ``BoundBlock.__init__`` called directly) and ``ListValue.bound_blocks``,
  the attribute ``ListValue`` reads and sets, which ``VariantsValue`` builds
  lazily;
- ``ListBlock._item_is_in_block_format(item)``, which tells the
  ``{"type", "value", "id"}`` format from a plain stored value;
- ``StructBlock._to_struct_value(items)``, which makes a ``StructValue``
  without ``to_python``.
"""

import uuid
from typing import Any, NamedTuple

from wagtail import blocks
from wagtail.blocks.list_block import ListValue

from ..rendering import MATCH_ANY


class VariantChild(ListValue.ListChild):
    """A variant in its list; its id, which only the editor needs, is made when first asked."""

    def __init__(self, block, value, id=None):
        blocks.BoundBlock.__init__(self, block, value)
        self.original_id = self._id = id

    @property
    def id(self):
        if self._id is None:
            self._id = str(uuid.uuid4())
        return self._id

    @id.setter
    def id(self, value):
        self._id = value


class Variant(NamedTuple):
    """A variant as a page chooses it: the segments it is for, and what it shows.

    Tuples of plain values, which Python's garbage collector stops tracking:
    a page holds many of them for the whole request.
    """

    segments: tuple
    match: str
    hide: bool
    value: Any


def variant_of(value):
    """A ``Variant`` from a variant's block value (a ``StructValue`` or a dict)."""
    return Variant(
        tuple(value.get("segments") or ()),
        value.get("match") or MATCH_ANY,
        bool(value.get("hide")),
        value.get("value"),
    )


class VariantsValue(ListValue):
    """A personalised block's variants as loaded for a page.

    Pages choose among ``variants``, plain tuples; the list of blocks that
    Wagtail's editor, API and exports work with is built from them when first
    used (and, once built, is what ``variants`` reads, changes included).
    Whether it is built is an attribute, not a look into ``__dict__``, which
    Python would then make as a dict for every block a page renders.
    """

    def __init__(self, list_block, variants, ids):
        self.list_block = list_block
        self._variants, self._ids = variants, ids  # ids: None when the stored list has none
        self._bound_blocks = None

    @property
    def bound_blocks(self):
        if self._bound_blocks is None:
            block = self.list_block.child_block
            ids = self._ids or [None] * len(self._variants)
            self._bound_blocks = [
                VariantChild(
                    block,
                    block._to_struct_value(
                        {**variant._asdict(), "segments": list(variant.segments)}.items()
                    ),
                    id=variant_id,
                )
                for variant, variant_id in zip(self._variants, ids, strict=True)
            ]
        return self._bound_blocks

    @bound_blocks.setter
    def bound_blocks(self, children):
        self._bound_blocks = children

    @property
    def variants(self):
        if self._bound_blocks is not None:
            return [variant_of(child.value) for child in self._bound_blocks]
        return self._variants


def bulk_child_values(block, items, name):
    """``items[i][name]`` for every item, converted in one call; the default where missing."""
    converted = iter(block.bulk_to_python([item[name] for item in items if name in item]))
    return [next(converted) if name in item else block.get_default() for item in items]


def load(block, values):
    """``block.bulk_to_python(values)`` for a ``PersonalisedBlock``, with a fraction of the work.

    A page loads every personalised block it holds, so this is one pass over
    them, with no helper called per variant but the settings' own ``to_python``.
    The defaults, and the contents of all variants, are each converted in one
    call (choosers still fetch in bulk); the variants become plain ``Variant``
    tuples, their settings read as ``variant_of`` reads them.
    """
    values = [value if isinstance(value, dict) else {} for value in values]
    list_block = block.child_blocks["variants"]
    fields = list_block.child_block.child_blocks
    segments_of, match_of = fields["segments"].to_python, fields["match"].normalize_choice
    in_block_format = list_block._item_is_in_block_format
    settings, contents = [], []  # per value: (ids, (segments, match, hide) of each variant)
    for value in values:
        stored = value.get("variants")
        ids, found = [], []
        for item in stored if isinstance(stored, list) else ():
            variant_id = None
            if in_block_format(item):
                variant_id, item = item.get("id"), item["value"]
            if not isinstance(item, dict):
                item = {}
            ids.append(variant_id)
            found.append(
                (
                    tuple(segments_of(item.get("segments"))),
                    match_of(item.get("match")),
                    bool(item.get("hide")),
                )
            )
            contents.append(item)
        settings.append((ids if any(ids) else None, found))
    converted = iter(bulk_child_values(fields["value"], contents, "value"))
    defaults = bulk_child_values(block.child_blocks["default"], values, "default")
    loaded = []
    for default, (ids, found) in zip(defaults, settings, strict=True):
        variants = tuple([Variant(*variant, next(converted)) for variant in found])
        loaded.append(
            block._to_struct_value(
                [("default", default), ("variants", VariantsValue(list_block, variants, ids))]
            )
        )
    return loaded
