from django.db import models
from modelcluster.contrib.taggit import ClusterTaggableManager
from modelcluster.fields import ParentalKey
from taggit.models import TaggedItemBase
from wagtail import blocks
from wagtail.fields import StreamField
from wagtail.models import Page

from wagtail_segments.blocks import AudienceMixin, PersonalisedBlock


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
