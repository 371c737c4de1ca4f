from wagtail.models import Site

from wagtail_segments.conf import segments_settings


def site_menu(request):
    """The home page's children shown in menus, for the header navigation."""

    def menu():
        site = Site.find_for_request(request)
        if site is None:
            return []
        return site.root_page.get_children().live().in_menu().specific()

    return {"site_menu": menu}


def consent(request):
    """The consent cookie the banner sets; without one, the site shows no banner."""
    return {"consent_cookie": segments_settings.CONSENT_COOKIE}
