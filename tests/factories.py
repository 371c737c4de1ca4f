"""Test data builders, and a spare port for the servers some tests start."""

import socket

import wagtail_factories
from django.conf import settings
from wagtail.coreutils import get_supported_content_language_variant
from wagtail.models import Locale, Page, Site
from wagtail.test.utils.form_data import nested_form_data, streamfield

from tests.testapp.models import PlainPage

BROWSER_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0 Safari/537.36"
)
BOT_UA = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


def spare_port():
    """A TCP port on 127.0.0.1 that nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PlainPageFactory(wagtail_factories.PageFactory):
    class Meta:
        model = PlainPage


def tree_root():
    """Wagtail's root page, made with the default locale where no migration made them.

    A transactional test flushes what Wagtail's migrations created, and a database
    built without migrations never had it.
    """
    Locale.objects.get_or_create(
        language_code=get_supported_content_language_variant(settings.LANGUAGE_CODE)
    )
    return Page.get_first_root_node() or Page.add_root(instance=Page(title="Root"))


def make_site_with_pages(*slugs):
    """A default site whose root page has the given children; returns {slug: page}."""
    root = PlainPageFactory(parent=tree_root(), title="Root", slug="root")
    Site.objects.all().delete()
    Site.objects.create(hostname="testserver", root_page=root, is_default_site=True)
    pages = {"root": root}
    for slug in slugs:
        pages[slug] = PlainPageFactory(parent=root, title=slug.title(), slug=slug)
    return pages


CAMPUS_RULES = [
    ("utm", {"parameter": "campaign", "value": "campus", "negate": ""}),
    ("pageviews", {"operator": "gte", "count": "3", "negate": "on"}),
]


def segment_form(rules=CAMPUS_RULES, block_ids=(), **fields):
    """The segment editor's form as a browser posts it; ``block_ids`` keep stored rule ids."""
    stream = streamfield(rules)
    for index, block_id in enumerate(block_ids):
        stream[str(index)]["id"] = block_id
    return nested_form_data(
        {
            "name": "Campus students",
            "slug": "campus-students",
            "description": "",
            "match": "all",
            "enabled": "on",
            "priority": "0",
            "active_from": "",
            "active_until": "",
            "sticky_days": "0",
            "holdout_percent": "0",
            **fields,
            "rules": stream,
        }
    )
