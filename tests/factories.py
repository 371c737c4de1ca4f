"""Test data builders."""

import wagtail_factories
from django.conf import settings
from wagtail.coreutils import get_supported_content_language_variant
from wagtail.models import Locale, Page, Site

from tests.testapp.models import PlainPage

BROWSER_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0 Safari/537.36"
)
BOT_UA = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


class PlainPageFactory(wagtail_factories.PageFactory):
    class Meta:
        model = PlainPage


def make_site_with_pages(*slugs):
    """A default site whose root page has the given children; returns {slug: page}."""
    # A transactional test flushes what Wagtail's migrations created: the locale, the root.
    Locale.objects.get_or_create(
        language_code=get_supported_content_language_variant(settings.LANGUAGE_CODE)
    )
    tree_root = Page.get_first_root_node() or Page.add_root(instance=Page(title="Root"))
    root = PlainPageFactory(parent=tree_root, title="Root", slug="root")
    Site.objects.all().delete()
    Site.objects.create(hostname="testserver", root_page=root, is_default_site=True)
    pages = {"root": root}
    for slug in slugs:
        pages[slug] = PlainPageFactory(parent=root, title=slug.title(), slug=slug)
    return pages
