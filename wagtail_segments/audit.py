"""Warnings for editors, shown when they open a page or placement, before they publish.

A variant that can never be shown (an earlier variant catches all its
visitors), and content or experiences that rely on a segment that is
disabled, past its end date or deleted.
"""

from django.contrib import messages
from django.utils import timezone
from django.utils.translation import gettext as _
from wagtail import blocks
from wagtail.fields import StreamField

from .blocks import AudienceMixin, PersonalisedBlock
from .content import MATCH_ALL


def covers(earlier, later):
    """Whether every visitor the ``later`` variant targets is targeted by ``earlier``."""
    first, second = set(earlier.get("segments") or ()), set(later.get("segments") or ())
    if not first or not second:
        return False
    first_all, second_all = earlier.get("match") == MATCH_ALL, later.get("match") == MATCH_ALL
    if not first_all:
        # "any" first: it catches "any" variants within it, "all" variants touching it.
        return bool(first & second) if second_all else second <= first
    if second_all:
        return first <= second  # both need all: the first needs fewer
    return len(first) == 1 and first == second


def walk(block, value, path):
    """``(path, block, value)`` for every block inside a StreamField value, depth first."""
    yield path, block, value
    if isinstance(block, blocks.StreamBlock):
        for position, child in enumerate(value, start=1):
            label = f"{child.block.label} {position}"
            yield from walk(child.block, child.value, [*path, label])
    elif isinstance(block, blocks.ListBlock):
        for position, item in enumerate(value, start=1):
            yield from walk(block.child_block, item, [*path, str(position)])
    elif isinstance(block, blocks.StructBlock) and not isinstance(block, PersonalisedBlock):
        for name, child_block in block.child_blocks.items():
            if name in value:
                yield from walk(child_block, value[name], path)


class Audit:
    def __init__(self, segments, now):
        self.segments, self.now, self.problems = segments, now, []

    def check_segments(self, slugs, where):
        for slug in slugs:
            segment = self.segments.get(slug)
            values = {"where": where, "slug": slug, "name": getattr(segment, "name", slug)}
            if segment is None:
                message = _("%(where)s uses “%(slug)s”, a segment that no longer exists.")
            elif not segment.enabled:
                message = _("%(where)s uses “%(name)s”, which is disabled.")
            elif segment.active_until and segment.active_until <= self.now:
                message = _("%(where)s uses “%(name)s”, which has ended.")
            else:
                continue
            self.problems.append(message % values)

    def check_variants(self, variants, where):
        variants = list(variants)
        for position, variant in enumerate(variants, start=1):
            label = _("%(where)s, variant %(position)s") % {"where": where, "position": position}
            self.check_segments(variant["segments"] or (), label)
            for earlier_position, earlier in enumerate(variants[: position - 1], start=1):
                if covers(earlier, variant):
                    message = _(
                        "%(label)s can never be shown: variant %(earlier)s comes first "
                        "and catches all its visitors."
                    )
                    self.problems.append(message % {"label": label, "earlier": earlier_position})
                    break


def content_problems(instance, segments, now=None):
    """Sentences describing personalisation in ``instance`` that will not work as meant.

    ``segments`` maps every existing segment's slug to its ``Segment``.
    """
    audit = Audit(segments, now or timezone.now())
    for field in instance._meta.get_fields():
        if not isinstance(field, StreamField):
            continue
        stream = getattr(instance, field.name)
        for path, block, value in walk(field.stream_block, stream, [str(field.verbose_name)]):
            where = " › ".join(path)
            if isinstance(block, PersonalisedBlock):
                audit.check_variants(value["variants"], where)
            if isinstance(block, AudienceMixin) and value.get("audience"):
                audience = value["audience"]
                slugs = [*(audience.get("show_to") or ()), *(audience.get("hide_from") or ())]
                audit.check_segments(slugs, _("%(where)s, audience") % {"where": where})
    if hasattr(instance, "segment_experiences"):
        for position, experience in enumerate(instance.segment_experiences.all(), start=1):
            where = _("Experience %(position)s") % {"position": position}
            audit.check_segments([experience.segment.slug], where)
    return audit.problems


def warn_editor(request, instance):
    """``before_edit_page``/``before_edit_snippet`` hook: list the problems on opening."""
    from .models import Segment

    if request.method != "GET":
        return
    segments = Segment.objects.in_bulk(field_name="slug")
    for problem in content_problems(instance, segments):
        messages.warning(request, problem)
