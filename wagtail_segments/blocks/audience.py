"""The audience setting any StructBlock can have: show to, or hide from, segments."""

from collections.abc import Mapping

from django.utils.translation import gettext_lazy as _
from wagtail import blocks

from .. import rendering
from .choosers import SegmentsChoiceBlock


class AudienceBlock(blocks.StructBlock):
    show_to = SegmentsChoiceBlock(
        required=False,
        label=_("Show only to"),
        help_text=_("Leave empty to show to everyone."),
    )
    hide_from = SegmentsChoiceBlock(required=False, label=_("Hide from"))

    class Meta:
        icon = "group"
        label = _("Audience")


class AudienceMixin(blocks.StructBlock):
    """Give a StructBlock an "Audience" setting: show to or hide from segments.

    ``class HeroBlock(AudienceMixin, blocks.StructBlock): ...`` adds one key,
    ``audience``, to the stored value and places it in the block's settings.
    """

    audience = AudienceBlock(required=False)

    def audience_slugs(self, value):
        """The slugs the audience setting of ``value`` names: shown to, then hidden from."""
        audience = (value.get("audience") if isinstance(value, Mapping) else None) or {}
        return [*(audience.get("show_to") or ()), *(audience.get("hide_from") or ())]

    def get_form_layout(self):
        layout = super().get_form_layout()
        children = [name for name in layout.children if name != "audience"]
        settings = [*(name for name in layout.settings if name != "audience"), "audience"]
        return blocks.BlockGroup(children, settings=settings)

    def render(self, value, context=None):
        return rendering.render_audience(
            self, value, context, lambda: super(AudienceMixin, self).render(value, context)
        )
