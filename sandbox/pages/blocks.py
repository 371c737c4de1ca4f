"""Content blocks of the Harbour Bank pages."""

from wagtail import blocks
from wagtail.images.blocks import ImageChooserBlock

from wagtail_segments.blocks import AudienceMixin, PersonalisedBlock


class HeroBlock(blocks.StructBlock):
    heading = blocks.CharBlock(max_length=120)
    text = blocks.TextBlock(required=False)
    button_text = blocks.CharBlock(required=False, max_length=40)
    button_page = blocks.PageChooserBlock(required=False)
    image = ImageChooserBlock(required=False)
    theme = blocks.ChoiceBlock(
        choices=[("harbour", "Harbour blue"), ("sunrise", "Sunrise"), ("forest", "Forest")],
        default="harbour",
    )

    class Meta:
        icon = "image"
        template = "pages/blocks/hero.html"


class CardBlock(blocks.StructBlock):
    title = blocks.CharBlock(max_length=80)
    text = blocks.TextBlock(required=False)
    page = blocks.PageChooserBlock(required=False)

    class Meta:
        icon = "doc-full"
        template = "pages/blocks/card.html"


class BannerBlock(AudienceMixin, blocks.StructBlock):
    text = blocks.CharBlock(max_length=200)
    link_text = blocks.CharBlock(required=False, max_length=40)
    link_page = blocks.PageChooserBlock(required=False)

    class Meta:
        icon = "warning"
        template = "pages/blocks/banner.html"


class ContentBlock(blocks.StreamBlock):
    hero = HeroBlock()
    personalised_hero = PersonalisedBlock(HeroBlock(), label="Personalised hero")
    banner = BannerBlock()
    heading = blocks.CharBlock(
        form_classname="title", icon="title", template="pages/blocks/heading.html"
    )
    paragraph = blocks.RichTextBlock(features=["bold", "italic", "link", "ol", "ul"])
    cards = blocks.ListBlock(CardBlock(), icon="grip", template="pages/blocks/cards.html")
