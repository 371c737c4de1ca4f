"""Implicit scoring: which interests a page view or a visit's source gives points to.

The sources are compiled with the segments (one ``ScoringRules`` in the
cached definitions), so scoring a page view makes no query. A page gives its
points once per visit; a referrer domain or UTM campaign gives points once, at
the start of the visit it brought.
"""

from dataclasses import dataclass, field

from django.db.models import Q
from django.utils import timezone
from wagtail.models import get_page_models

from .parsing import url_host


@dataclass(frozen=True, slots=True)
class ScoringRules:
    page_points: dict = field(default_factory=dict)  # page id -> {interest slug: points}
    referrer_points: dict = field(default_factory=dict)  # domain -> {interest slug: points}
    campaign_points: dict = field(default_factory=dict)  # utm campaign -> {slug: points}

    def for_page(self, page_id):
        return self.page_points.get(page_id, {})

    def for_referrer(self, referrer):
        host = url_host(referrer)
        points = {}
        for domain, given in self.referrer_points.items():
            if host == domain or host.endswith(f".{domain}"):
                _add(points, given)
        return points

    def for_campaign(self, campaign):
        return self.campaign_points.get((campaign or "").lower(), {})


def _add(total, points):
    for slug, value in points.items():
        total[slug] = total.get(slug, 0) + value


def compile_scoring():
    from .models import Interest, PageInterest

    page_points = {}
    for page_id, slug, points in PageInterest.objects.values_list(
        "page_id", "interest__slug", "points"
    ):
        _add(page_points.setdefault(page_id, {}), {slug: points})

    referrer_points, campaign_points, tag_points = {}, {}, {}
    for interest in Interest.objects.all():
        given = {interest.slug: interest.points}
        for domain in Interest.split(interest.referrer_domains):
            _add(referrer_points.setdefault(domain, {}), given)
        for campaign in Interest.split(interest.utm_campaigns):
            _add(campaign_points.setdefault(campaign, {}), given)
        for tag in Interest.split(interest.page_tags):
            _add(tag_points.setdefault(tag, {}), given)

    if tag_points:
        for page_id, tag in tagged_pages(tag_points):
            _add(page_points.setdefault(page_id, {}), tag_points[tag])
    return ScoringRules(page_points, referrer_points, campaign_points)


def tagged_pages(tag_names):
    """(page id, lower-cased tag) for live pages of every page type that has ``tags``."""
    wanted = Q()
    for name in tag_names:
        wanted |= Q(tags__name__iexact=name)
    found = set()
    for model in get_page_models():
        if hasattr(model, "tags"):
            rows = model.objects.filter(wanted, live=True).values_list("pk", "tags__name")
            found.update((page_id, tag.lower()) for page_id, tag in rows)
    return sorted(found)


def score_page_view(profile, scoring, page_id, new_visit, now=None):
    """Add the points a page view gives; the visit's source counts on its first page.

    Each source is written to the profile's ledger separately, so the cockpit
    can say what moved a score.
    """
    now = now or timezone.now()
    sources = [(f"page:{page_id}", scoring.for_page(page_id))]
    if new_visit:
        campaign = profile.utm.get("campaign", "")
        sources += [
            (
                f"referrer:{url_host(profile.referrer)}",
                scoring.for_referrer(profile.referrer),
            ),
            (f"campaign:{campaign}", scoring.for_campaign(campaign)),
        ]
    total = {}
    for source, points in sources:
        for slug, value in points.items():
            profile.add_score(slug, value, now, source=source)
        _add(total, points)
    return total
