"""Page editor panels: the interest points a page gives its visitors."""

from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import InlinePanel
from wagtail.models import Page


def interest_points_panel(**kwargs):
    """An inline panel for the page's interest points; works on any page type."""
    kwargs.setdefault("heading", _("Interest points"))
    kwargs.setdefault("label", _("Interest"))
    kwargs.setdefault(
        "help_text",
        _("Each visitor gets these points once per visit when they view this page."),
    )
    return InlinePanel("segment_interests", **kwargs)


class InterestPointsMixin:
    """Page mixin: adds the interest points panel to the Promote tab.

    ``class ProductPage(InterestPointsMixin, Page): ...``
    """

    promote_panels = [*Page.promote_panels, interest_points_panel()]
