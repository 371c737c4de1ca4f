from django.apps import AppConfig
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.utils.translation import gettext_lazy as _
from wagtail.signals import page_published, page_unpublished


class WagtailSegmentsAppConfig(AppConfig):
    name = "wagtail_segments"
    label = "wagtail_segments"
    verbose_name = _("Personalisation")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import checks  # noqa: F401  (registers the system checks)
        from .engine import invalidate_after_change
        from .models import (
            Goal,
            Interest,
            ManualMember,
            PageExperience,
            PageInterest,
            Placement,
            PlacementPage,
            Segment,
        )
        from .rules import builtin  # noqa: F401  (registers the built-in rules)

        # The compiled definitions follow every change they rest on.
        for model in (
            Goal,
            Segment,
            Interest,
            ManualMember,
            PageInterest,
            Placement,
            PlacementPage,
            PageExperience,
        ):
            post_save.connect(invalidate_after_change, sender=model)
            post_delete.connect(invalidate_after_change, sender=model)
        m2m_changed.connect(invalidate_after_change, sender=Placement.page_types.through)
        page_published.connect(invalidate_after_change)
        page_unpublished.connect(invalidate_after_change)
