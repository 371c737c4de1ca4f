"""One walk through stream content, safe for every block type Wagtail ships.

A page holds each of them (with real images, documents, pages, snippets),
plus personalised blocks and audiences at every depth; the walk, the slugs
a page's preview offers, the editor warnings, the page editor, the preview
in each mode and the page itself all work with it.
"""

import pytest
import wagtail_factories
from django.db import models
from django.urls import reverse
from wagtail import blocks
from wagtail.contrib.table_block.blocks import TableBlock
from wagtail.contrib.typed_table_block.blocks import TypedTableBlock
from wagtail.documents.blocks import DocumentChooserBlock
from wagtail.embeds.blocks import EmbedBlock
from wagtail.embeds.embeds import get_embed_hash
from wagtail.embeds.models import Embed
from wagtail.images.blocks import ImageBlock, ImageChooserBlock
from wagtail.images.models import Image
from wagtail.snippets.blocks import SnippetChooserBlock
from wagtail.test.utils.form_data import querydict_from_html

from tests.testapp.models import Advert, AudienceNoteBlock, CitationBlock, EveryBlockPage
from wagtail_segments.audit import content_problems
from wagtail_segments.blocks import PersonalisedBlock, personalised_slugs
from wagtail_segments.models import Segment
from wagtail_segments.preview import segments_used_by
from wagtail_segments.streams import walk

VIDEO = "https://www.youtube.com/watch?v=harbour"

# Where each segment is used; "in-hidden" sits in a hidden variant, never shown.
SLUGS_USED = {
    "in-table",
    "in-citation",
    "in-list",
    "in-section",
    "section-variant",
    "in-nested-stream",
    "image-variant",
    "in-default",
    "note-variant",
    "in-variant",
    "hiding",
    "top",
}


def note(text, show_to=(), hide_from=()):
    return {"text": text, "audience": {"show_to": list(show_to), "hide_from": list(hide_from)}}


def picture(image, alt):
    return {"image": image.pk, "decorative": False, "alt_text": alt}


def variant(value, *segments, hide=False):
    return {"segments": list(segments), "match": "any", "hide": hide, "value": value}


def stored_body(image, document, page, advert):
    """A body as the database stores it: every block type, with real instances."""
    return [
        {"type": "image", "value": picture(image, "The harbour")},
        {"type": "image_chooser", "value": image.pk},
        {"type": "document", "value": document.pk},
        {"type": "page", "value": page.pk},
        {"type": "snippet", "value": advert.pk},
        {"type": "embed", "value": VIDEO},
        {
            "type": "table",
            "value": {
                "data": [["Rate", "Term"], ["4.1%", "1 year"]],
                "first_row_is_table_header": True,
                "first_col_is_header": False,
                "table_caption": "",
            },
        },
        {
            "type": "typed_table",
            "value": {
                "columns": [
                    {"type": "text", "heading": "Name"},
                    {"type": "note", "heading": "Remark"},
                ],
                "rows": [{"values": ["Saver", note("Table note", show_to=["in-table"])]}],
                "caption": "Accounts",
            },
        },
        {"type": "divider", "value": None},
        {"type": "html", "value": "<b>Raw harbour</b>"},
        {"type": "quote", "value": "Save early."},
        {
            "type": "citation",
            "value": {
                "quote": "Save often.",
                "source": "A saver",
                "note": note("Citation note", hide_from=["in-citation"]),
            },
        },
        {"type": "notes", "value": [note("List note", show_to=["in-list"]), note("Plain")]},
        {
            "type": "section",
            "value": [
                {"type": "note", "value": note("Section note", show_to=["in-section"])},
                {
                    "type": "picture",
                    "value": {
                        "default": picture(image, "Default picture"),
                        "variants": [variant(picture(image, "Section variant"), "section-variant")],
                    },
                },
                {
                    "type": "inner",
                    "value": [
                        {"type": "note", "value": note("Deep note", show_to=["in-nested-stream"])},
                        {"type": "html", "value": "<i>deep</i>"},
                    ],
                },
            ],
        },
        {
            "type": "offer",
            "value": {
                "default": picture(image, "Default offer"),
                "variants": [variant(picture(image, "Variant offer"), "image-variant")],
            },
        },
        {
            "type": "personalised_note",
            "value": {
                "default": note("Default note", show_to=["in-default"]),
                "variants": [
                    variant(note("Variant note", hide_from=["in-variant"]), "note-variant"),
                    variant(note("Hidden note", show_to=["in-hidden"]), "hiding", hide=True),
                ],
            },
        },
        {"type": "note", "value": note("Top note", show_to=["top"])},
        {
            "type": "optional",
            "value": {
                "image": {"image": None, "decorative": False, "alt_text": ""},
                "image_chooser": None,
                "document": None,
                "page": None,
                "snippet": None,
                "embed": None,
                "table": None,
            },
        },
    ]


@pytest.fixture
def every_block_page(pages):
    for slug in [*SLUGS_USED, "unused"]:
        Segment.objects.create(name=f"Segment {slug}", slug=slug)
    Embed.objects.create(
        url=VIDEO,
        hash=get_embed_hash(VIDEO),
        type="video",
        html='<iframe title="Harbour video"></iframe>',
    )
    image = wagtail_factories.ImageFactory(title="Harbour")
    document = wagtail_factories.DocumentFactory(title="Terms")
    advert = Advert.objects.create(text="Open an account")
    body = stored_body(image, document, pages["savings"], advert)
    page = EveryBlockPage(title="Every block", slug="every", body=body)
    pages["root"].add_child(instance=page)
    return EveryBlockPage.objects.get(pk=page.pk)  # as loaded from the database


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
    assert personalised_slugs(block, every_block_page.body) == SLUGS_USED - {"in-hidden"}
    assert segments_used_by(every_block_page) == SLUGS_USED - {"in-hidden"}


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


def form_data(block, value, prefix):
    """What the page editor posts for ``value`` of ``block`` (Wagtail's editor builds it in JS)."""
    if isinstance(block, blocks.StreamBlock | blocks.ListBlock):
        children = value.bound_blocks if isinstance(block, blocks.ListBlock) else list(value)
        data = {f"{prefix}-count": len(children)}
        for position, child in enumerate(children):
            at = f"{prefix}-{position}"
            data |= {f"{at}-deleted": "", f"{at}-order": position, f"{at}-id": child.id or ""}
            if isinstance(block, blocks.StreamBlock):
                data[f"{at}-type"] = child.block_type
            data |= form_data(child.block, child.value, f"{at}-value")
        return data
    if isinstance(block, ImageBlock):
        fields = {
            "image": value,
            "decorative": getattr(value, "decorative", False),
            "alt_text": getattr(value, "contextual_alt_text", ""),
        }
        return form_data(blocks.StructBlock(list(block.child_blocks.items())), fields, prefix)
    if isinstance(block, blocks.StructBlock):
        data = {}
        for name, child_block in block.child_blocks.items():
            data |= form_data(child_block, value[name], f"{prefix}-{name}")
        return data
    if isinstance(block, TypedTableBlock):
        data = {f"{prefix}-caption": value.caption, f"{prefix}-column-count": len(value.columns)}
        for column_id, column in enumerate(value.columns):
            at = f"{prefix}-column-{column_id}"
            data |= {f"{at}-type": column["block"].name, f"{at}-order": column_id}
            data |= {f"{at}-heading": column["heading"], f"{at}-deleted": ""}
        data[f"{prefix}-row-count"] = len(value.row_data)
        for row_id, row in enumerate(value.row_data):
            data |= {f"{prefix}-row-{row_id}-order": row_id, f"{prefix}-row-{row_id}-deleted": ""}
            for column_id, (column, cell) in enumerate(
                zip(value.columns, row["values"], strict=True)
            ):
                data |= form_data(column["block"], cell, f"{prefix}-cell-{row_id}-{column_id}")
        return data
    if isinstance(block, blocks.StaticBlock):
        return {}
    posted = block.value_for_form(value)
    if isinstance(posted, models.Model):
        posted = posted.pk
    if isinstance(posted, bool):
        posted = str(posted).lower()
    return {prefix: "" if posted is None else posted}


def edit_form_data(admin_client, page):
    response = admin_client.get(reverse("wagtailadmin_pages:edit", args=[page.pk]))
    assert response.status_code == 200
    data = querydict_from_html(response.content.decode(), form_id="page-edit-form")
    block = EveryBlockPage.body.field.stream_block
    for name, value in form_data(block, page.body, "body").items():
        data.setlist(name, value if isinstance(value, list) else [value])
    return data


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
        SLUGS_USED - {"in-hidden"}
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
