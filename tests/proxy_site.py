"""Builds the site tests/test_varnish.py serves behind Varnish, in a throwaway database.

    WAGTAIL_SEGMENTS_PROXY_DIR=/tmp/x DJANGO_SETTINGS_MODULE=tests.proxy_settings \
        python -m tests.proxy_site 15

Makes the tables; creates a home page, ordinary pages, an offers page with a variant for
each of 4 segments (and a draft only editors see), an editor, and that many
returning visitors of each segment, stored as a previous visit left them. Prints
what the test needs as JSON: page ids, the editor's login, and each returning
visitor's profile cookie.
"""

import json
import sys
from datetime import timedelta

import django

OFFER_SEGMENTS = {
    "spring": {"type": "utm", "value": {"parameter": "campaign", "value": "spring"}},
    "partner": {"type": "referrer", "value": {"match": "domain", "value": "partner.example"}},
    "returning": {"type": "visit_count", "value": {"operator": "gte", "count": 2}},
    "mortgages": {
        "type": "interest_score",
        "value": {"interest": "mortgages", "operator": "gte", "score": 20},
    },
}
ORDINARY_PAGES = ["accounts", "savings", "contact", "about", "news"]
EDITOR = {"username": "editor", "password": "editor-password"}


def offer(slug):
    return {"segments": [slug], "match": "any", "hide": False, "value": f"offer-for-{slug}"}


def build_pages():
    from wagtail.models import Collection, Site

    from tests.factories import tree_root
    from tests.testapp.models import PersonalisedPage

    Collection.add_root(name="Root")
    home = tree_root().add_child(
        instance=PersonalisedPage(title="Home", slug="home", body=[("text", "page-home")])
    )
    Site.objects.all().delete()
    Site.objects.create(hostname="localhost", root_page=home, is_default_site=True)
    for slug in ORDINARY_PAGES:
        page = PersonalisedPage(title=slug.title(), slug=slug, body=[("text", f"page-{slug}")])
        home.add_child(instance=page)
    block = ("offer", {"default": "offer-default", "variants": [offer(s) for s in OFFER_SEGMENTS]})
    offers = home.add_child(instance=PersonalisedPage(title="Offers", slug="offers", body=[block]))
    offers.body = [("text", "page-draft"), block]
    offers.save_revision()  # a draft: the live page keeps its body
    return home, offers


def build_segments():
    from wagtail_segments.models import Interest, Segment

    Interest.objects.create(name="Mortgages", slug="mortgages")
    for slug, rule in OFFER_SEGMENTS.items():
        Segment.objects.create(name=slug.title(), slug=slug, rules=[rule])


def returning_visitor(slug, home_id, now):
    """A profile as an earlier visit left it: a member of segment ``slug`` only."""
    from wagtail_segments.visitor.profile import VisitorProfile

    earlier = now - timedelta(minutes=2)  # the same visit, still going on
    profile = VisitorProfile(now=earlier)
    if slug == "returning":
        for days_ago in (10, 3):
            moment = now - timedelta(days=days_ago)
            profile.start_visit(moment, landing_page=home_id)
            profile.record_pageview(home_id, moment)
        return profile
    profile.start_visit(
        earlier,
        landing_page=home_id,
        referrer="https://partner.example/rates/" if slug == "partner" else "",
        utm={"campaign": "spring"} if slug == "spring" else None,
    )
    profile.record_pageview(home_id, earlier)
    if slug == "mortgages":
        profile.add_score("mortgages", 50, earlier, source=f"page:{home_id}")
    return profile


def build_returning_visitors(count, home_id):
    from django.utils import timezone

    from wagtail_segments.visitor.stores import DatabaseStore, _sign

    now = timezone.now()
    store = DatabaseStore()
    cookies = {}
    for slug in OFFER_SEGMENTS:
        cookies[slug] = []
        for _ in range(count):
            profile = returning_visitor(slug, home_id, now)
            store.write(profile.visitor_id, profile.to_data())
            cookies[slug].append(_sign(profile.visitor_id))
    return cookies


def main(count):
    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    call_command("migrate", run_syncdb=True, verbosity=0)
    home, offers = build_pages()
    build_segments()
    get_user_model().objects.create_superuser(EDITOR["username"], "", EDITOR["password"])
    print(
        json.dumps(
            {
                "offers_id": offers.pk,
                "editor": EDITOR,
                "returning": build_returning_visitors(count, home.pk),
            }
        )
    )


if __name__ == "__main__":
    main(int(sys.argv[1]))
