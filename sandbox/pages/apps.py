from django.apps import AppConfig


class PagesConfig(AppConfig):
    name = "pages"
    label = "pages"
    verbose_name = "Harbour Bank pages"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import segment_rules  # noqa: F401  (registers the sandbox's own rule)
