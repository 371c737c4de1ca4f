"""StreamField blocks of the package.

Segments and interests are stored by slug, their stable key; the choosers
below offer them by name and report each slug to Wagtail's reference index,
so a segment's usage listing and delete warning show where it is used.
"""

from django import forms
from django.apps import apps
from django.utils.translation import gettext_lazy as _
from wagtail import blocks


def segment_choices():
    from .models import Segment

    return list(Segment.objects.values_list("slug", "name"))


def interest_choices():
    from .models import Interest

    return [(interest.slug, str(interest)) for interest in Interest.objects.all()]


class SlugReferencesMixin:
    """Report the chosen slugs of ``referenced_model`` to Wagtail's reference index."""

    referenced_model = ""

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

    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("Segments"))
        super().__init__(choices=segment_choices, **kwargs)

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
