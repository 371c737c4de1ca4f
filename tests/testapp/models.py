from django.db import models
from modelcluster.contrib.taggit import ClusterTaggableManager
from modelcluster.fields import ParentalKey
from taggit.models import TaggedItemBase
from wagtail.models import Page


class PlainPageTag(TaggedItemBase):
    content_object = ParentalKey("PlainPage", related_name="tagged_items", on_delete=models.CASCADE)


class PlainPage(Page):
    """A page that lists the visitor's segments, for request-level tests."""

    tags = ClusterTaggableManager(through=PlainPageTag, blank=True)
