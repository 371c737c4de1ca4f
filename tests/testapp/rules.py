"""A project's own segment parameter, registered the way the docs show."""

from wagtail import blocks

from wagtail_segments.rules import Rule, field_error


class LoyaltyTierRule(Rule):
    slug = "loyalty_tier"
    label = "Loyalty tier"
    icon = "pick"
    fields = [("tier", blocks.CharBlock(default="gold"))]

    def prepare(self, value):
        if value["tier"] not in ("silver", "gold"):
            raise field_error("tier", "Choose silver or gold.")
        return value

    def matches(self, value, context):
        return context.request.COOKIES.get("tier") == value["tier"]

    def observed(self, value, context):
        return context.request.COOKIES.get("tier")


class ReferralCodeRule(Rule):
    """Registered from ``wagtail_hooks.py``, as the custom rules guide also offers."""

    slug = "referral_code"
    label = "Referral code"
    fields = [("code", blocks.CharBlock())]

    def matches(self, value, context):
        return context.request.COOKIES.get("referral") == value["code"]
