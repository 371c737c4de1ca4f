"""Segment rules: the ``Rule`` API, its registry and the built-in catalogue.

A project adds its own segment parameter with ``@register`` on a ``Rule``
subclass, from an app's ``ready()`` or its ``wagtail_hooks.py``.
"""

from .base import Rule, RuleContext, field_error
from .registry import register, registry

__all__ = ["Rule", "RuleContext", "field_error", "register", "registry"]
