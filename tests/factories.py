"""Test data builders."""

import wagtail_factories
from wagtail.models import Page, Site

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
    root = PlainPageFactory(parent=Page.get_first_root_node(), title="Root", slug="root")
    Site.objects.all().delete()
    Site.objects.create(hostname="testserver", root_page=root, is_default_site=True)
    pages = {"root": root}
    for slug in slugs:
        pages[slug] = PlainPageFactory(parent=root, title=slug.title(), slug=slug)
    return pages
