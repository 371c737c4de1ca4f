"""Personalised blocks in the page editor: what the server gives the editor's script."""

import pytest
from wagtail import blocks
from wagtail.admin.telepath import JSContext

from wagtail_segments.blocks import PersonalisedBlock


class HeroBlock(blocks.StructBlock):
    heading = blocks.CharBlock()
    text = blocks.CharBlock(required=False)


def packed(block):
    """``block`` as the editor receives it, and the media its definition asks for."""
    context = JSContext()
    return context.pack(block), str(context.media)


@pytest.mark.django_db  # the segments to tick are read from the database
def test_the_editor_gets_the_personalised_block_and_its_variants_scripts():
    hero = PersonalisedBlock(HeroBlock(), label="Personalised hero")
    hero.set_name("hero")
    definition, media = packed(hero)
    assert definition["_type"] == "wagtail_segments.PersonalisedBlock"
    default, variants = definition["_args"][1]
    assert default["_type"] == "wagtail.blocks.StructBlock"
    assert default["_args"][2]["label"] == "Default"
    assert variants["_type"] == "wagtail_segments.VariantListBlock"
    _name, variant, initial_state, meta = variants["_args"]
    assert meta["strings"] == {
        "NO_SEGMENTS": "For no segment yet",
        "SAME": "Same as the default",
        "DIFFERS": "Differs from the default",
        "BLANK": "Blank, unlike the default",
    }
    # A new variant's content is the default's, copied by the script; this is its shape.
    assert initial_state == {
        "segments": [],
        "match": ["any"],
        "hide": False,
        "value": {"heading": None, "text": None},
    }
    assert variant["_args"][2]["label"] == "Variant"
    assert variant["_args"][2]["labelFormat"] == "For {segments}"
    assert "wagtail_segments/js/personalised-block.js" in media
    assert "wagtail_segments/css/personalised-block.css" in media


@pytest.mark.django_db
def test_a_variants_content_is_labelled_content_and_stored_as_value():
    block = PersonalisedBlock(blocks.CharBlock(label="Offer"))
    block.set_name("offer")
    content = block.child_blocks["variants"].child_block.child_blocks["value"]
    assert content.label == "Content"
    assert block.child_blocks["default"].label == "Default"
    definition, _media = packed(block)
    variant = definition["_args"][1][1]["_args"][1]
    assert [child["_args"][2]["label"] for child in variant["_args"][1]] == [
        "Segments",
        "Match",
        "Hide",
        "Content",
    ]
    stored = {
        "default": "Hello",
        "variants": [{"segments": ["x"], "match": "any", "hide": False, "value": "Hi"}],
    }
    assert block.get_prep_value(block.to_python(stored)) == stored
    # The child block itself keeps its own label where it is used alone.
    assert block.child_block.label == "Offer"


def test_a_new_personalised_block_has_no_variant_to_fill_in():
    block = PersonalisedBlock(blocks.CharBlock())
    block.set_name("offer")
    value = block.get_default()
    assert list(value["variants"]) == []
    assert block.get_form_state(value)["variants"] == []
    value["default"] = "Hello"
    # Nothing stops publishing but what any block asks for: no empty, required variant.
    cleaned = block.clean(value)
    assert block.get_prep_value(cleaned) == {"default": "Hello", "variants": []}
