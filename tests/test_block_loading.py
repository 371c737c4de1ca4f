"""The Wagtail internals ``blocks/loading.py`` relies on, pinned: a Wagtail upgrade that
changes them fails here, by name, before a page loads its personalised blocks wrong."""

import inspect

import pytest
from wagtail import blocks
from wagtail.blocks.list_block import ListBlock, ListValue
from wagtail.blocks.struct_block import StructBlock, StructValue

from wagtail_segments.blocks import PersonalisedBlock
from wagtail_segments.blocks.loading import Variant, VariantChild, VariantsValue, load

STORED = [
    {
        "default": "Hello",
        "variants": [
            {"segments": ["students"], "match": "any", "hide": False, "value": "Hi, student"},
            {"segments": ["a", "b"], "match": "all", "hide": True, "value": ""},
        ],
    },
    {  # the list block's own format, with ids
        "default": "Welcome",
        "variants": [
            {
                "type": "item",
                "id": "3f1c",
                "value": {"segments": ["x"], "match": "any", "hide": False, "value": "Yo"},
            }
        ],
    },
    {  # shapes the editor never saves, read as Wagtail's own blocks read them
        "default": "Odd",
        "variants": [
            {"type": "item", "value": {"segments": ["x"]}, "hide": False},  # no id: no format
            {"segments": "solo", "match": "most", "hide": False, "value": "An unknown match"},
            {"segments": None, "hide": True},
        ],
    },
    {},  # nothing stored yet
]


def without_new_ids(state):
    """A form state with the ids made on loading (random, as Wagtail's are) left out."""
    for variant in state["variants"]:
        if variant["id"] != "3f1c":
            variant["id"] = "new"
    return state


@pytest.fixture
def block():
    block = PersonalisedBlock(blocks.CharBlock())
    block.set_name("greeting")
    return block


def test_a_list_child_takes_the_block_the_value_and_an_id():
    assert issubclass(ListValue.ListChild, blocks.BoundBlock)
    parameters = inspect.signature(blocks.BoundBlock.__init__).parameters
    assert list(parameters)[:3] == ["self", "block", "value"]
    child = ListValue.ListChild(blocks.CharBlock(), "x", id="abc")
    assert (child.id, child.original_id) == ("abc", "abc")  # what VariantChild keeps too
    assert child.get_prep_value() == {"type": "item", "value": "x", "id": "abc"}


def test_a_list_value_reads_its_children_through_bound_blocks():
    value = ListValue(ListBlock(blocks.CharBlock()), values=["a", "b"])
    assert isinstance(value.bound_blocks, list)
    value.bound_blocks = value.bound_blocks[:1]  # VariantsValue builds this attribute lazily
    assert list(value) == ["a"] and len(value) == 1 and value[0] == "a"


def test_the_list_block_tells_its_own_format_from_plain_values():
    """``load`` asks this method which items are in the list's own format: its rule, pinned."""
    list_block = ListBlock(blocks.CharBlock())
    assert list_block._item_is_in_block_format({"type": "item", "id": "1", "value": "a"})
    assert not list_block._item_is_in_block_format({"type": "item", "value": "a"})
    assert not list_block._item_is_in_block_format({"id": "1", "value": "a"})
    assert not list_block._item_is_in_block_format({"value": "a"})
    assert not list_block._item_is_in_block_format("a")


def test_a_struct_block_makes_its_value_from_items_without_converting_them():
    struct = StructBlock([("title", blocks.CharBlock())])
    value = struct._to_struct_value([("title", "raw")])
    assert isinstance(value, StructValue) and value["title"] == "raw"


def test_bulk_loading_gives_what_wagtails_own_struct_block_gives(block):
    """The shortcut's result, as the editor, the API and a save see it, is StructBlock's."""
    ours = block.bulk_to_python(STORED)
    wagtails = StructBlock.bulk_to_python(block, STORED)
    for fast, slow in zip(ours, wagtails, strict=True):
        assert isinstance(fast["variants"], VariantsValue)
        assert block.get_prep_value(fast) == block.get_prep_value(slow)
        assert without_new_ids(block.get_form_state(fast)) == without_new_ids(
            block.get_form_state(slow)
        )
        assert list(block.variants(fast)) == block.variants(slow)
    assert load(block, STORED[:1])[0]["variants"].variants == (  # plain tuples, until asked
        Variant(("students",), "any", False, "Hi, student"),
        Variant(("a", "b"), "all", True, ""),
    )


def test_variants_become_wagtail_list_children_with_their_stored_ids(block):
    loaded = load(block, STORED)
    (child,) = loaded[1]["variants"].bound_blocks
    assert isinstance(child, VariantChild) and isinstance(child, ListValue.ListChild)
    assert child.id == child.original_id == "3f1c"
    new = loaded[0]["variants"].bound_blocks[0]
    assert new.original_id is None and new.id  # made when first asked, as Wagtail does


def test_the_variants_a_page_chooses_among_follow_changes_made_through_the_list(block):
    """Once the editor's list of blocks is built, ``variants`` reads it, changes included."""
    variants = load(block, STORED[:1])[0]["variants"]
    assert [v.segments for v in variants.variants] == [("students",), ("a", "b")]
    del variants[0]
    assert [v.segments for v in variants.variants] == [("a", "b")]
    variants.bound_blocks = []
    assert variants.variants == [] and len(variants) == 0
