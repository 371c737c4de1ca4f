"""Page editor panels: the interest points a page gives, and its experiences."""

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


def experiences_panel(**kwargs):
    """An inline panel for the page's experiences: other pages' content for segments."""
    kwargs.setdefault("heading", _("Experiences"))
    kwargs.setdefault("label", _("Experience"))
    kwargs.setdefault(
        "help_text",
        _(
            "Visitors in a segment get another page's content at this page's address. "
            "The first experience whose segment matches wins."
        ),
    )
    return InlinePanel("segment_experiences", **kwargs)
