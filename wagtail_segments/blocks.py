"""StreamField blocks of the package.

Segments and interests are stored by slug, their stable key; the choosers
below offer them by name and report each slug to Wagtail's reference index,
so a segment's usage listing and delete warning show where it is used.
"""

import copy
import uuid
from collections.abc import Mapping
from itertools import islice
from typing import Any, NamedTuple

from django import forms
from django.apps import apps
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from wagtail import blocks, hooks
from wagtail.admin.telepath import register
from wagtail.blocks.list_block import ListBlockAdapter, ListValue
from wagtail.blocks.struct_block import StructBlockAdapter

from . import content

# The choosers find their models by name when their choices are read, as Wagtail's
# ``SnippetChooserBlock("app.Model")`` does: the models define fields of these blocks.
CHOICE_NOTE_HOOK = "wagtail_segments_segment_choice_note"


def segment_choices():
    segment = apps.get_model("wagtail_segments", "Segment")
    return list(segment.objects.values_list("slug", "name"))


def segment_choices_with_potential():
    """Segments by name, each with the notes of the ``CHOICE_NOTE_HOOK`` functions.

    The reports register one: a segment's share of recent visitors, the
    visitors who would see a variant for it.
    """
    notes = hooks.get_hooks(CHOICE_NOTE_HOOK)
    choices = []
    for slug, name in segment_choices():
        said = ", ".join(note for note_of in notes if (note := note_of(slug)))
        choices.append((slug, f"{name} ({said})" if said else name))
    return choices


def interest_choices():
    interest = apps.get_model("wagtail_segments", "Interest")
    return [(each.slug, str(each)) for each in interest.objects.all()]


class SlugReferencesMixin:
    """Report the chosen slugs of ``referenced_model`` to Wagtail's reference index."""

    referenced_model = ""
    multiple = False

    def to_python(self, value):
        # Slugs are plain strings: no need to look them up among the choices, which
        # would query the database each time content is loaded.
        if value is None:
            return [] if self.multiple else None
        if self.multiple:
            return [str(slug) for slug in (value if isinstance(value, list | tuple) else [value])]
        return str(value)

    def normalize(self, value):
        return self.to_python(value)

    def deconstruct(self):
        # Our own path and the caller's options only: how the choices are made is
        # internal, and must not leak into the migrations of projects using the block.
        options = {
            name: value
            for name, value in self._constructor_kwargs.items()
            if name not in ("choices", "widget")
        }
        return f"wagtail_segments.blocks.{type(self).__name__}", (), options

    def extract_references(self, value):
        slugs = [value] if isinstance(value, str) else list(value or ())
        if slugs:
            model = apps.get_model(self.referenced_model)
            for pk in model.objects.filter(slug__in=slugs).values_list("pk", flat=True):
                yield model, str(pk), "", ""


class SegmentChoiceBlock(SlugReferencesMixin, blocks.ChoiceBlock):
    """One segment, chosen by name, stored by slug."""

    referenced_model = "wagtail_segments.Segment"

    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("Segment"))
        super().__init__(choices=segment_choices, **kwargs)

    class Meta:
        icon = "group"


class SegmentsChoiceBlock(SlugReferencesMixin, blocks.MultipleChoiceBlock):
    """Several segments, chosen by name, stored as a list of slugs."""

    referenced_model = "wagtail_segments.Segment"
    multiple = True

    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("Segments"))
        kwargs.setdefault("widget", forms.CheckboxSelectMultiple)
        super().__init__(choices=segment_choices_with_potential, **kwargs)

    class Meta:
        icon = "group"


class InterestChoiceBlock(SlugReferencesMixin, blocks.ChoiceBlock):
    """One interest, chosen by name, stored by slug."""

    referenced_model = "wagtail_segments.Interest"

    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("Interest"))
        super().__init__(choices=interest_choices, **kwargs)

    class Meta:
        icon = "tag"


class TextListBlock(blocks.FieldBlock):
    """A list of short strings, typed comma-separated and stored as a JSON list."""

    def __init__(self, required=True, help_text=None, max_length=500, **kwargs):
        self.field = forms.CharField(required=required, help_text=help_text, max_length=max_length)
        super().__init__(**kwargs)

    @staticmethod
    def split(text):
        return [item.strip() for item in str(text).split(",") if item.strip()]

    def to_python(self, value):
        return self.split(value) if isinstance(value, str) else [str(item) for item in value or ()]

    def get_prep_value(self, value):
        return self.to_python(value)

    def value_for_form(self, value):
        return ", ".join(self.to_python(value))

    def value_from_form(self, value):
        return self.split(value or "")

    def get_form_state(self, value):
        return self.value_for_form(value)

    class Meta:
        default = ()
        icon = "list-ul"


# -- personalised content ----------------------------------------------------------------------

MATCH_CHOICES = [("any", _("Any of these segments")), ("all", _("All of these segments"))]


class MatchBlock(blocks.ChoiceBlock):
    """ "Any" or "all" of a variant's segments.

    Loads without evaluating its choices: it runs for every variant a page shows.
    """

    def __init__(self, **kwargs):
        super().__init__(choices=MATCH_CHOICES, default="any", label=_("Match"), **kwargs)

    def normalize_choice(self, value):
        return value if value in ("any", "all") else "any"


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


class VariantChild(ListValue.ListChild):
    """A variant in its list; its id, which only the editor needs, is made when first asked."""

    def __init__(self, block, value, id=None):
        blocks.BoundBlock.__init__(self, block, value)
        self.original_id = self._id = id

    @property
    def id(self):
        if self._id is None:
            self._id = str(uuid.uuid4())
        return self._id

    @id.setter
    def id(self, value):
        self._id = value


class Variant(NamedTuple):
    """A variant as a page chooses it: the segments it is for, and what it shows.

    Tuples of plain values, which Python's garbage collector stops tracking:
    a page holds many of them for the whole request.
    """

    segments: tuple
    match: str
    hide: bool
    value: Any


def variant_of(value):
    """A ``Variant`` from a variant's block value (a ``StructValue`` or a dict)."""
    return Variant(
        tuple(value.get("segments") or ()),
        value.get("match") or "any",
        bool(value.get("hide")),
        value.get("value"),
    )


class VariantsValue(ListValue):
    """A personalised block's variants as loaded for a page.

    Pages choose among ``variants``, plain tuples; the list of blocks that
    Wagtail's editor, API and exports work with is built from them when first
    used (and, once built, is what ``variants`` reads, changes included).
    """

    def __init__(self, list_block, variants, ids):
        self.list_block = list_block
        self._variants, self._ids = variants, ids  # ids: None when the stored list has none

    @cached_property
    def bound_blocks(self):
        block = self.list_block.child_block
        ids = self._ids or [None] * len(self._variants)
        return [
            VariantChild(
                block,
                block._to_struct_value(
                    {**variant._asdict(), "segments": list(variant.segments)}.items()
                ),
                id=variant_id,
            )
            for variant, variant_id in zip(self._variants, ids, strict=True)
        ]

    @property
    def variants(self):
        if "bound_blocks" in self.__dict__:
            return [variant_of(child.value) for child in self.bound_blocks]
        return self._variants


def bulk_child_values(block, items, name):
    """``items[i][name]`` for every item, converted in one call; the default where missing."""
    converted = iter(block.bulk_to_python([item[name] for item in items if name in item]))
    return [next(converted) if name in item else block.get_default() for item in items]


def stored_variants(list_block, stored):
    """``(id, dict)`` of each stored variant; ids are None in the plain public format."""
    if not isinstance(stored, list):
        return []
    found = []
    for item in stored:
        variant_id = None
        if list_block._item_is_in_block_format(item):
            variant_id, item = item.get("id"), item["value"]
        found.append((variant_id, item if isinstance(item, dict) else {}))
    return found


def field_value(block, item, name):
    return block.to_python(item[name]) if name in item else block.get_default()


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
        """Load stored values as ``StructBlock`` would, with a fraction of the work.

        A page loads every personalised block it holds. The defaults, and the
        contents of all variants, are each converted in one call (choosers
        still fetch in bulk); the variants become plain ``Variant`` tuples.
        """
        values = [value if isinstance(value, dict) else {} for value in values]
        list_block = self.child_blocks["variants"]
        fields = list_block.child_block.child_blocks
        stored = [stored_variants(list_block, value.get("variants")) for value in values]
        items = [item for found in stored for _, item in found]
        contents = iter(bulk_child_values(fields["value"], items, "value"))
        items = iter(items)
        defaults = bulk_child_values(self.child_blocks["default"], values, "default")
        loaded = []
        for default, found in zip(defaults, stored, strict=True):
            variants = tuple(
                Variant(
                    tuple(field_value(fields["segments"], item, "segments")),
                    field_value(fields["match"], item, "match"),
                    field_value(fields["hide"], item, "hide"),
                    next(contents),
                )
                for item in islice(items, len(found))
            )
            ids = [variant_id for variant_id, _ in found] if any(i for i, _ in found) else None
            loaded.append(
                self._to_struct_value(
                    [("default", default), ("variants", VariantsValue(list_block, variants, ids))]
                )
            )
        return loaded

    def variants(self, value):
        """The variants of ``value`` as ``Variant`` tuples, in editor order."""
        variants = value["variants"]
        if isinstance(variants, VariantsValue):
            return variants.variants
        return [variant_of(variant) for variant in variants]

    def choose(self, value, segments):
        """``(position, Variant)`` this visitor gets; ``(0, None)`` for the default."""
        return content.choose_variant(segments, self.variants(value))

    def render(self, value, context=None):
        return content.render_variant(self, value, context)

    def get_api_representation(self, value, context=None):
        _, variant = self.choose(value, content.segments_from_context(context))
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
        return content.render_audience(
            self, value, context, lambda: super(AudienceMixin, self).render(value, context)
        )


# -- placements ---------------------------------------------------------------------------------


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
