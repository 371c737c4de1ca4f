"""Wagtail hooks of the test app: a rule registered where a project may register its own."""

from wagtail_segments.rules import register

from .rules import ReferralCodeRule

register(ReferralCodeRule)
