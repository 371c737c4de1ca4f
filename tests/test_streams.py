"""One walk through stream content, safe for every block type Wagtail ships.

A page holds each of them (with real images, documents, pages, snippets),
plus personalised blocks and audiences at every depth; the walk, the slugs
a page's preview offers, the editor warnings, the page editor, the preview
in each mode and the page itself all work with it.
"""

import pytest
from django.urls import reverse
from wagtail import blocks
from wagtail.contrib.table_block.blocks import TableBlock
from wagtail.contrib.typed_table_block.blocks import TypedTableBlock
from wagtail.documents.blocks import DocumentChooserBlock
from wagtail.embeds.blocks import EmbedBlock
from wagtail.images.blocks import ImageBlock, ImageChooserBlock
from wagtail.images.models import Image
from wagtail.snippets.blocks import SnippetChooserBlock

from tests.factories import EVERY_BLOCK_SLUGS, SegmentFactory, edit_form_data, make_every_block_page
from tests.testapp.models import Advert, AudienceNoteBlock, CitationBlock, EveryBlockPage
from wagtail_segments.admin.publish_warnings import content_problems
from wagtail_segments.blocks import PersonalisedBlock
from wagtail_segments.models import Segment
from wagtail_segments.preview import segments_used_by
from wagtail_segments.streams import personalised_slugs, walk


@pytest.fixture
def every_block_page(pages):
    for slug in [*EVERY_BLOCK_SLUGS, "unused"]:
        SegmentFactory(name=f"Segment {slug}", slug=slug)
    return make_every_block_page(pages["root"], chosen_page=pages["savings"])


# -- the walk ----------------------------------------------------------------------------------


def test_the_walk_reaches_every_block_with_its_value(every_block_page):
    stream = every_block_page.body
    walked = list(walk(EveryBlockPage.body.field.stream_block, stream, ["Body"]))
    found = {type(block) for _, block, _ in walked}
    assert {
        ImageBlock,
        ImageChooserBlock,
        DocumentChooserBlock,
        blocks.PageChooserBlock,
        SnippetChooserBlock,
        EmbedBlock,
        TableBlock,
        TypedTableBlock,
        blocks.StaticBlock,
        blocks.RawHTMLBlock,
        blocks.BlockQuoteBlock,
        CitationBlock,
        blocks.ListBlock,
        blocks.StreamBlock,
        PersonalisedBlock,
        AudienceNoteBlock,
    } <= found
    by_path = {(path, type(block)): value for path, block, value in walked}
    assert isinstance(by_path[("Body", "Image 1"), ImageBlock], Image)
    assert isinstance(by_path[("Body", "Snippet 5"), SnippetChooserBlock], Advert)
    assert by_path[("Body", "Html 10"), blocks.RawHTMLBlock] == "<b>Raw harbour</b>"
    assert by_path[("Body", "Typed table 8", "Row 1, Remark"), AudienceNoteBlock]["text"] == (
        "Table note"
    )
    assert by_path[("Body", "Citation 12"), CitationBlock].credit() == "— A saver"
    assert by_path[("Body", "Notes 13", "1"), AudienceNoteBlock]["text"] == "List note"
    deep = ("Body", "Section 14", "Inner 3", "Note 1")
    assert by_path[deep, AudienceNoteBlock]["text"] == "Deep note"
    assert by_path[("Body", "Offer 15", "Variant 1"), ImageBlock].contextual_alt_text == (
        "Variant offer"
    )
    assert by_path[("Body", "Personalised note 16", "Default"), AudienceNoteBlock]["text"] == (
        "Default note"
    )
    # Empty optional blocks are walked, with None as their value.
    empty = [value for path, _, value in walked if path == ("Body", "Optional 18")][1:]
    assert len(empty) == 7 and all(value is None for value in empty)
    # Content of a hidden variant is never shown: it is not walked.
    assert not any(path[-1:] == ("Variant 2",) for path, _, _ in walked)


@pytest.mark.parametrize(
    "block, value",
    [
        (ImageBlock(), "not an image"),
        (ImageBlock(required=False), None),
        (blocks.StructBlock([("text", blocks.CharBlock())]), None),
        (blocks.StructBlock([("text", blocks.CharBlock())]), 42),
        (blocks.StreamBlock([("text", blocks.CharBlock())]), None),
        (blocks.ListBlock(blocks.CharBlock()), None),
        (TypedTableBlock([("text", blocks.CharBlock())]), None),
        (PersonalisedBlock(blocks.CharBlock()), None),
    ],
)
def test_the_walk_yields_a_value_of_an_unexpected_shape_without_looking_inside(block, value):
    assert list(walk(block, value)) == [((), block, value)]


def test_personalised_slugs_are_exactly_those_the_content_uses(every_block_page):
    block = EveryBlockPage.body.field.stream_block
    assert personalised_slugs(block, every_block_page.body) == EVERY_BLOCK_SLUGS - {"in-hidden"}
    assert segments_used_by(every_block_page) == EVERY_BLOCK_SLUGS - {"in-hidden"}


def test_editor_warnings_look_into_every_block(every_block_page):
    Segment.objects.filter(slug__in=["in-table", "in-nested-stream", "in-variant"]).delete()
    problems = content_problems(every_block_page, Segment.objects.in_bulk(field_name="slug"))
    assert problems == [
        "body › Typed table 8 › Row 1, Remark, audience uses “in-table”, a segment that no "
        "longer exists.",
        "body › Section 14 › Inner 3 › Note 1, audience uses “in-nested-stream”, a segment "
        "that no longer exists.",
        "body › Personalised note 16 › Variant 1, audience uses “in-variant”, a segment that "
        "no longer exists.",
    ]


# -- through the admin and the site ------------------------------------------------------------


def test_the_page_editor_opens(every_block_page, admin_client):
    response = admin_client.get(reverse("wagtailadmin_pages:edit", args=[every_block_page.pk]))
    assert response.status_code == 200
    assert "Open an account" in response.content.decode()  # the chosen snippet


def test_every_preview_mode_renders_the_page(every_block_page, admin_client):
    url = reverse("wagtailadmin_pages:preview_on_edit", args=[every_block_page.pk])
    posted = admin_client.post(url, edit_form_data(admin_client, every_block_page))
    assert posted.status_code == 200 and posted.json()["is_valid"], posted.content
    modes = [mode for mode, _ in every_block_page.preview_modes]
    assert modes[0] == "" and {mode.removeprefix("segment:") for mode in modes[1:]} == (
        EVERY_BLOCK_SLUGS - {"in-hidden"}
    )
    for mode in modes:
        response = admin_client.get(url, {"mode": mode})
        assert response.status_code == 200, mode
        html = response.content.decode()
        assert "<b>Raw harbour</b>" in html and "Harbour video" in html, mode
        assert ("Variant note" in html) is (mode == "segment:note-variant"), mode
        assert ("Deep note" in html) is (mode == "segment:in-nested-stream"), mode


def test_the_page_serves(every_block_page, client):
    response = client.get(every_block_page.url)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Default note" not in html  # shown only to "in-default"
    assert "Citation note" in html and "Rate" in html and "Open an account" in html
