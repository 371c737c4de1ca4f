"""The personalised block: a default and variants for segments.

Which variant a visitor gets is the rendering layer's answer
(``rendering.choose_variant``); loading a page's blocks in bulk is
``loading``'s.
"""

import copy

from django import forms
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from wagtail import blocks
from wagtail.admin.telepath import register
from wagtail.blocks.list_block import ListBlockAdapter
from wagtail.blocks.struct_block import StructBlockAdapter

from .. import rendering
from ..rendering import MATCH_ALL, MATCH_ANY
from . import loading
from .choosers import SegmentsChoiceBlock
from .loading import VariantsValue, variant_of

MATCH_CHOICES = [(MATCH_ANY, _("Any of these segments")), (MATCH_ALL, _("All of these segments"))]


class MatchBlock(blocks.ChoiceBlock):
    """ "Any" or "all" of a variant's segments.

    Loads without evaluating its choices: it runs for every variant a page shows.
    """

    def __init__(self, **kwargs):
        super().__init__(choices=MATCH_CHOICES, default=MATCH_ANY, label=_("Match"), **kwargs)

    def normalize_choice(self, value):
        return value if value in (MATCH_ANY, MATCH_ALL) else MATCH_ANY


def relabelled(block, label):
    """A copy of ``block`` under another label (which its name in a struct block keeps)."""
    block = copy.deepcopy(block)
    block.label = block.meta.label = label
    return block


class VariantBlock(blocks.StructBlock):
    """One variant: the segments it is for, and its content (or "hide")."""

    def __init__(self, child_block, **kwargs):
        super().__init__(
            [
                ("segments", SegmentsChoiceBlock(help_text=_("Visitors in these segments..."))),
                ("match", MatchBlock()),
                (
                    "hide",
                    blocks.BooleanBlock(
                        required=False,
                        label=_("Hide"),
                        help_text=_("...see nothing here instead of the content below."),
                    ),
                ),
                # "value": the key of the public content format, whatever the label says.
                ("value", relabelled(child_block, _("Content"))),
            ],
            **kwargs,
        )

    def clean(self, value):
        if not value.get("hide"):
            return super().clean(value)
        # Hidden content is never shown: its fields need not be filled in.
        settings = blocks.StructValue(self, [(k, v) for k, v in value.items() if k != "value"])
        cleaned = super().clean(settings)
        return self._to_struct_value([*cleaned.items(), ("value", value["value"])])

    class Meta:
        icon = "group"
        label = _("Variant")
        label_format = _("For {segments}")
        collapsed = True


class VariantListBlock(blocks.ListBlock):
    """The variants, stored as a plain list of dicts (the public content format).

    A new personalised block has none (a variant left empty would block
    publishing); in the editor a new variant starts as a copy of the default.
    """

    def get_prep_value(self, value):
        return [item["value"] for item in super().get_prep_value(value)]

    class Meta:
        default = list  # a new list each time: no variants


class PersonalisedBlock(blocks.StructBlock):
    """A block with a default value and variants for segments.

    ``PersonalisedBlock(HeroBlock())`` stores
    ``{"default": ..., "variants": [{"segments": [...], "match": "any", "hide": false,
    "value": ...}]}``; the first variant (in editor order) whose segments target
    the visitor is rendered, else the default.
    """

    def __init__(self, child_block, **kwargs):
        self.child_block = child_block
        super().__init__(
            [
                ("default", relabelled(child_block, _("Default"))),
                (
                    "variants",
                    VariantListBlock(
                        VariantBlock(child_block),
                        label=_("Variants"),
                        help_text=_(
                            "Each variant shows other content, or nothing, to the visitors of "
                            "its segments. A new one starts as a copy of the default: change "
                            "what differs."
                        ),
                        collapsed=True,
                    ),
                ),
            ],
            **kwargs,
        )

    def deconstruct(self):
        return (
            "wagtail_segments.blocks.PersonalisedBlock",
            (self.child_block,),
            self._constructor_kwargs,
        )

    def deconstruct_with_lookup(self, lookup):
        path, (child_block,), kwargs = self.deconstruct()
        return path, (lookup.add_block(child_block),), kwargs

    @classmethod
    def construct_from_lookup(cls, lookup, child_block, **kwargs):
        if isinstance(child_block, int):
            child_block = lookup.get_block(child_block)
        return cls(child_block, **kwargs)

    def to_python(self, value):
        return self.bulk_to_python([value])[0]

    def bulk_to_python(self, values):
        return loading.load(self, values)

    def variants(self, value):
        """The variants of ``value`` as ``Variant`` tuples, in editor order."""
        variants = value["variants"]
        if isinstance(variants, VariantsValue):
            return variants.variants
        return [variant_of(variant) for variant in variants]

    # The rendering layer's answer, as the block's own method: a page renders many.
    render = rendering.render_variant

    def get_api_representation(self, value, context=None):
        segments = rendering.segments_from_context(context)
        _, variant = rendering.choose_variant(segments, self.variants(value))
        if variant is not None and variant.hide:
            return None
        chosen = value["default"] if variant is None else variant.value
        return self.child_block.get_api_representation(chosen, context)

    class Meta:
        icon = "group"
        form_layout = blocks.BlockGroup(["default", "variants"])


EDITOR_MEDIA = forms.Media(
    js=["wagtail_segments/js/personalised-block.js"],
    css={"all": ["wagtail_segments/css/personalised-block.css"]},
)


class PersonalisedBlockAdapter(StructBlockAdapter):
    """In the editor, the variants of a personalised block follow its default."""

    js_constructor = "wagtail_segments.PersonalisedBlock"

    @cached_property
    def media(self):
        return super().media + EDITOR_MEDIA


class VariantListBlockAdapter(ListBlockAdapter):
    """The variants in the editor: a new one starts as a copy of the default, each
    header names its segments as they are ticked, and each field of a variant's
    content says whether it differs from the default's."""

    js_constructor = "wagtail_segments.VariantListBlock"

    def js_args(self, block):
        name, child_block, initial_child_state, meta = super().js_args(block)
        meta["strings"] = {
            "NO_SEGMENTS": _("For no segment yet"),
            "SAME": _("Same as the default"),
            "DIFFERS": _("Differs from the default"),
            "BLANK": _("Blank, unlike the default"),
        }
        return [name, child_block, initial_child_state, meta]

    @cached_property
    def media(self):
        return super().media + EDITOR_MEDIA


register(PersonalisedBlockAdapter(), PersonalisedBlock)
register(VariantListBlockAdapter(), VariantListBlock)


# Frozen in migrations under the package's public path (struct and choice blocks freeze
# as Wagtail's own classes).
DECONSTRUCT_ALIASES = {VariantListBlock: "wagtail_segments.blocks.VariantListBlock"}
