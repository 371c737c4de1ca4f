"""Blocks that choose segments, interests or a list of values.

Segments and interests are stored by slug, their stable key; the choosers
offer them by name and report each slug to Wagtail's reference index, so a
segment's usage listing and delete warning show where it is used.
"""

from django import forms
from django.apps import apps
from django.utils.translation import gettext_lazy as _
from wagtail import blocks, hooks

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


# Frozen in migrations under the package's public path.
DECONSTRUCT_ALIASES = {TextListBlock: "wagtail_segments.blocks.TextListBlock"}
