"""Warnings for editors, shown when they open a page or placement, before they publish.

A variant that can never be shown (an earlier variant catches all its
visitors), and content or experiences that rely on a segment that is
disabled, past its end date or deleted.
"""

from django.contrib import messages
from django.utils import timezone
from django.utils.translation import gettext as _

from ..blocks import AudienceMixin, PersonalisedBlock
from ..rendering import MATCH_ALL
from ..streams import walk_instance


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
    for path, block, value in walk_instance(instance):
        where = " › ".join(path)
        if isinstance(block, PersonalisedBlock):
            audit.check_variants(value["variants"], where)
        elif isinstance(block, AudienceMixin):
            audience = _("%(where)s, audience") % {"where": where}
            audit.check_segments(block.audience_slugs(value), audience)
    if hasattr(instance, "segment_experiences"):
        for position, experience in enumerate(instance.segment_experiences.all(), start=1):
            where = _("Experience %(position)s") % {"position": position}
            audit.check_segments([experience.segment.slug], where)
    return audit.problems


def warn_editor(request, instance):
    """``before_edit_page``/``before_edit_snippet`` hook: list the problems on opening."""
    from ..models import Segment

    if request.method != "GET":
        return
    segments = Segment.objects.in_bulk(field_name="slug")
    for problem in content_problems(instance, segments):
        messages.warning(request, problem)
