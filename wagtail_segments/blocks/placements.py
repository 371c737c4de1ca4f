"""What a placement holds: personalised text or banners."""

from django.utils.translation import gettext_lazy as _
from wagtail import blocks

from .personalised import PersonalisedBlock


class BannerBlock(blocks.StructBlock):
    heading = blocks.CharBlock(max_length=120)
    text = blocks.RichTextBlock(features=["bold", "italic", "link"], required=False)
    link_page = blocks.PageChooserBlock(required=False, label=_("Link to a page"))
    link_url = blocks.URLBlock(required=False, label=_("...or to a URL"))
    link_text = blocks.CharBlock(required=False, max_length=60, label=_("Link text"))

    class Meta:
        icon = "pick"
        label = _("Banner")
        template = "wagtail_segments/blocks/banner.html"


class PlacementContentBlock(blocks.StreamBlock):
    """What a placement holds: personalised text or banners."""

    text = PersonalisedBlock(
        blocks.RichTextBlock(features=["h2", "h3", "bold", "italic", "link", "ol", "ul"]),
        label=_("Text"),
    )
    banner = PersonalisedBlock(BannerBlock(), label=_("Banner"))
