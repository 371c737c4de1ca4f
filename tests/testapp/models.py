from django.db import models
from modelcluster.contrib.taggit import ClusterTaggableManager
from modelcluster.fields import ParentalKey
from taggit.models import TaggedItemBase
from wagtail import blocks
from wagtail.admin.panels import FieldPanel
from wagtail.contrib.table_block.blocks import TableBlock
from wagtail.contrib.typed_table_block.blocks import TypedTableBlock
from wagtail.documents.blocks import DocumentChooserBlock
from wagtail.embeds.blocks import EmbedBlock
from wagtail.fields import StreamField
from wagtail.images.blocks import ImageBlock, ImageChooserBlock
from wagtail.models import Page
from wagtail.snippets.blocks import SnippetChooserBlock
from wagtail.snippets.models import register_snippet

from wagtail_segments.blocks import AudienceMixin, PersonalisedBlock
from wagtail_segments.preview import PersonalisedPreviewMixin


class AudienceNoteBlock(AudienceMixin, blocks.StructBlock):
    text = blocks.CharBlock()

    class Meta:
        template = "testapp/note.html"


class PlainPageTag(TaggedItemBase):
    content_object = ParentalKey("PlainPage", related_name="tagged_items", on_delete=models.CASCADE)


class PlainPage(Page):
    """A page that lists the visitor's segments, for request-level tests."""

    tags = ClusterTaggableManager(through=PlainPageTag, blank=True)


class PersonalisedPage(Page):
    """A page whose body offers a personalised block, rendered with nothing else around it."""

    body = StreamField(
        [
            ("offer", PersonalisedBlock(blocks.CharBlock())),
            ("note", AudienceNoteBlock()),
            ("text", blocks.CharBlock()),
        ],
        blank=True,
    )


# -- every block Wagtail ships, for the walk through stream content ----------------------------


@register_snippet
class Advert(models.Model):
    text = models.CharField(max_length=100)

    def __str__(self):
        return self.text


class CitationValue(blocks.StructValue):
    """A custom value class: the walk must still see the struct's children."""

    def credit(self):
        return f"— {self.get('source')}"


class CitationBlock(blocks.StructBlock):
    quote = blocks.BlockQuoteBlock()
    source = blocks.CharBlock(required=False)
    note = AudienceNoteBlock(required=False)

    class Meta:
        value_class = CitationValue


class OptionalBlocks(blocks.StructBlock):
    """Every chooser and media block Wagtail ships, left empty (None)."""

    image = ImageBlock(required=False)
    image_chooser = ImageChooserBlock(required=False)
    document = DocumentChooserBlock(required=False)
    page = blocks.PageChooserBlock(required=False)
    snippet = SnippetChooserBlock("testapp.Advert", required=False)
    embed = EmbedBlock(required=False)
    table = TableBlock(required=False)


class SectionBlock(blocks.StreamBlock):
    note = AudienceNoteBlock()
    picture = PersonalisedBlock(ImageBlock())
    inner = blocks.StreamBlock([("note", AudienceNoteBlock()), ("html", blocks.RawHTMLBlock())])


class EveryBlockPage(PersonalisedPreviewMixin, Page):
    """A page whose body may hold every block type Wagtail ships, and ours."""

    body = StreamField(
        [
            ("image", ImageBlock()),
            ("image_chooser", ImageChooserBlock()),
            ("document", DocumentChooserBlock()),
            ("page", blocks.PageChooserBlock()),
            ("snippet", SnippetChooserBlock("testapp.Advert")),
            ("embed", EmbedBlock()),
            ("table", TableBlock()),
            (
                "typed_table",
                TypedTableBlock([("text", blocks.CharBlock()), ("note", AudienceNoteBlock())]),
            ),
            ("divider", blocks.StaticBlock(admin_text="A divider")),
            ("html", blocks.RawHTMLBlock()),
            ("quote", blocks.BlockQuoteBlock()),
            ("citation", CitationBlock()),
            ("notes", blocks.ListBlock(AudienceNoteBlock())),
            ("section", SectionBlock()),
            ("offer", PersonalisedBlock(ImageBlock())),
            ("personalised_note", PersonalisedBlock(AudienceNoteBlock())),
            ("note", AudienceNoteBlock()),
            ("optional", OptionalBlocks()),
        ],
        blank=True,
    )

    content_panels = [*Page.content_panels, FieldPanel("body")]
    template = "testapp/every_block_page.html"
