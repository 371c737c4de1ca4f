"""Preview as a segment: one Wagtail preview mode per segment a page's content uses.

A page's content is its own personalised blocks and the placements that
apply to it (chosen for the page or for its page type).
"""

from django.utils.translation import gettext_lazy as _
from wagtail.models import Page

from .placements import slugs_placed_on
from .streams import slugs_used, walk_instance
from .visitor.state import force_segments

SEGMENT_MODE_PREFIX = "segment:"


def segments_used_by(instance):
    """Slugs of the segments that personalised content on ``instance`` depends on."""
    slugs = slugs_used(walk_instance(instance))
    if isinstance(instance, Page):
        slugs |= slugs_placed_on(instance)
    return slugs


class PersonalisedPreviewMixin:
    """Page (or snippet) mixin: preview the page as the default visitor or as each segment.

    ``class HomePage(PersonalisedPreviewMixin, Page): ...``
    """

    @property
    def preview_modes(self):
        from .models import Segment

        slugs = segments_used_by(self)
        names = dict(Segment.objects.filter(slug__in=slugs).values_list("slug", "name"))
        return [("", _("Default visitor"))] + [
            (f"{SEGMENT_MODE_PREFIX}{slug}", _("As “%(segment)s”") % {"segment": names[slug]})
            for slug in sorted(slugs, key=lambda slug: str(names.get(slug, slug)).lower())
            if slug in names
        ]

    def serve_preview(self, request, mode_name):
        slug = mode_name.removeprefix(SEGMENT_MODE_PREFIX) if mode_name else ""
        force_segments(request, {slug} if slug else ())
        return super().serve_preview(request, mode_name)
