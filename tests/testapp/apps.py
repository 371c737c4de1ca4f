from django.apps import AppConfig


class TestAppConfig(AppConfig):
    name = "tests.testapp"
    label = "testapp"

    def ready(self):
        from wagtail_segments.rules import register

        from .rules import LoyaltyTierRule

        register(LoyaltyTierRule)
