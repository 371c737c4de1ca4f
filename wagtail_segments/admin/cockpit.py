"""What the cockpit shows an editor about the visitor they are: profile, scores, segments, blocks.

Everything is gathered for one request, for users allowed to view segments
only; visitors never pay for it.
"""

import json
from dataclasses import dataclass, field

from django.utils.translation import gettext as _
from wagtail.models import Page

from ..current import visitor_state
from ..engine import SegmentSet
from ..parsing import whole_number
from ..rendering import MATCH_ALL
from ..visitor.profile import MAX_PAGE_ID

MAX_ATTRIBUTE_TEXT = 80


@dataclass
class ScoreRow:
    slug: str
    name: str
    group: str
    score: float
    percent: int  # bar length, relative to the highest score
    thresholds: list = field(default_factory=list)  # (segment name, threshold, points to go)


def source_page_id(source):
    """The id of the page a ledger entry's source ("page:12") names, or None."""
    kind, _sep, ref = source.partition(":")
    return whole_number(ref, MAX_PAGE_ID) if kind == "page" else None


def source_label(source, pages):
    kind, _sep, ref = source.partition(":")
    if kind == "page":
        page = pages.get(source_page_id(source))
        return _("viewing “%(page)s”") % {"page": page.title if page else ref}
    if kind == "referrer":
        return _("arriving from %(site)s") % {"site": ref or _("another site")}
    if kind == "campaign":
        return _("campaign “%(campaign)s”") % {"campaign": ref}
    return _("site code")


def interest_thresholds(definitions, interest_slug, score):
    """(segment name, threshold, points still needed) for each rule that tests this interest."""
    found = []
    for segment in definitions.segments.values():
        for rule in segment.rules:
            if rule.type != "interest_score" or rule.error:
                continue
            stored = rule.stored  # the prepared value holds the comparison, not its name
            slug, operator, threshold = (
                stored["interest"],
                stored["operator"],
                float(stored["score"]),
            )
            if slug == interest_slug and operator in ("gte", "gt"):
                found.append((segment.name, threshold, round(max(threshold - score, 0), 1)))
    return found


def score_rows(profile, definitions, interests):
    scores = profile.scores
    highest = max(scores.values(), default=0) or 1
    rows = []
    for slug, score in scores.items():
        interest = interests.get(slug)
        rows.append(
            ScoreRow(
                slug=slug,
                name=interest.name if interest else slug,
                group=interest.group if interest else "",
                score=score,
                percent=max(int(100 * score / highest), 2),
                thresholds=interest_thresholds(definitions, slug, score),
            )
        )
    return rows


def ledger_rows(profile, interests, pages):
    return [
        {
            "interest": interests[slug].name if slug in interests else slug,
            "points": points,
            "because": source_label(source, pages),
            "when": profile.datetime(when),
        }
        for slug, points, source, when in reversed(profile.ledger)
    ]


def block_rows(state, names):
    """One row per personalised block, audience setting and ``{% segment %}`` tag rendered."""

    def named(slugs):
        return ", ".join(names.get(slug, slug) for slug in slugs)

    rows = []
    for number, item in enumerate(state.explained):
        label = (item.name or "").replace("_", " ").capitalize() or _("Block")
        if item.kind == "variant":
            shown, why = variant_verdict(item.detail, item.shown, named)
        elif item.kind == "audience":
            shown, why = audience_verdict(item.detail, item.shown, state.segments, named)
        else:
            slugs, match = item.detail
            label = "{% segment " + " ".join(f"“{slug}”" for slug in slugs) + " %}"
            shown = _("its content") if item.shown else _("its “else” part")
            if item.shown:
                why = _("member of %(segments)s") % {"segments": named(slugs)}
            elif match == MATCH_ALL:
                why = _("not a member of all of %(segments)s") % {"segments": named(slugs)}
            else:
                why = _("not a member of %(segments)s") % {"segments": named(slugs)}
        rows.append(
            {
                "number": number,
                "block": label,
                "shown": shown,
                "why": why,
                "highlight": item.kind != "segment tag",
            }
        )
    return rows


def variant_verdict(detail, visible, named):
    """What a personalised block showed, and why: the first variant (in editor order) wins."""
    impression, variants = detail
    segments = named(impression.segments)
    passed = len(variants) if not impression.variant else impression.variant - 1
    missed = [
        _("variant %(position)s (%(segments)s) did not match")
        % {"position": position, "segments": named(slugs)}
        for position, (slugs, _match) in enumerate(variants[:passed], start=1)
    ]
    if impression.held_out:
        shown = _("default")
        why = _("in the holdout of %(segments)s: keeps the default") % {"segments": segments}
    elif not impression.variant:
        return _("default"), "; ".join(missed) or _("it has no variants")
    else:
        shown = _("variant %(position)s") % {"position": impression.variant}
        if not visible:
            shown = _("nothing (variant %(position)s hides it)") % {"position": impression.variant}
        why = _("member of %(segments)s") % {"segments": segments}
    return shown, "; ".join([*missed, why])


def audience_verdict(audience, allowed, segments, named):
    hide_from = [slug for slug in audience.get("hide_from") or () if segments.is_targeted(slug)]
    show_to = audience.get("show_to") or ()
    if hide_from:
        return _("hidden"), _("hidden from %(segments)s") % {"segments": named(hide_from)}
    if not show_to:
        return _("shown"), _("not in any segment it is hidden from")
    if allowed:
        members = [slug for slug in show_to if segments.is_targeted(slug)]
        return _("shown"), _("shown only to %(segments)s: member of %(member)s") % {
            "segments": named(show_to),
            "member": named(members),
        }
    return _("hidden"), _("shown only to %(segments)s: not a member") % {"segments": named(show_to)}


def readable(value):
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
    return text if len(text) <= MAX_ATTRIBUTE_TEXT else text[: MAX_ATTRIBUTE_TEXT - 1] + "…"


def blocks_context(state):
    """The cockpit's list of personalised content, once the whole page has been rendered."""
    definitions = state.segments.definitions
    names = {slug: segment.name for slug, segment in definitions.segments.items()}
    return {"blocks": block_rows(state, names)}


def profile_context(profile, definitions):
    """What the cockpit and the People screens show of a profile: facts, scores, data."""
    from ..models import Interest

    interests = {interest.slug: interest for interest in Interest.objects.all()}
    page_ids = {source_page_id(source) for _, _, source, _ in profile.ledger} - {None}
    if profile.landing_page:
        page_ids.add(profile.landing_page)
    pages = Page.objects.in_bulk(page_ids)
    return {
        "profile": profile,
        "first_seen": profile.datetime(profile.first_seen),
        "last_seen": profile.datetime(profile.last_seen),
        "landing_page": pages.get(profile.landing_page),
        "scores": score_rows(profile, definitions, interests),
        "ledger": ledger_rows(profile, interests, pages),
        "events": profile.events,
        "attributes": {key: readable(value) for key, value in profile.attributes.items()},
    }


def cockpit_context(request):
    """The template context of the cockpit for this request, or None without the middleware."""
    state = visitor_state(request)
    if state is None:
        return None
    profile = state.profile
    definitions = state.segments.definitions
    # Explain the visitor as they are, even while the editor views the site as others.
    judged = SegmentSet(request, profile)
    names = {slug: segment.name for slug, segment in definitions.segments.items()}
    return {
        **profile_context(profile, definitions),
        "segments": judged.explain(),
        "viewing_as": sorted(names.get(slug, slug) for slug in state.viewing_as or ()),
        "viewing_as_slugs": state.viewing_as or frozenset(),
        "all_segments": list(names.items()),
        "trackable": state.trackable,
    }
