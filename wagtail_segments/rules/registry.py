"""The registry of segment parameters (rules), built-in and the project's own."""

from contextlib import contextmanager

from django.core.exceptions import ImproperlyConfigured
from wagtail import blocks

from .base import Rule


class RuleRegistry:
    def __init__(self):
        self._rules = {}
        # Bumped on every change, so the editor blocks are rebuilt from the registry.
        self.generation = 0
        self._blocks = {}

    def register(self, rule_class=None):
        """Register a ``Rule`` subclass; usable as ``@register`` or ``register(MyRule)``.

        Registering the same class again does nothing; another class with a
        slug already taken raises ``ImproperlyConfigured`` at start-up.
        """
        if rule_class is None:
            return self.register
        if not (isinstance(rule_class, type) and issubclass(rule_class, Rule)):
            raise ImproperlyConfigured(f"{rule_class!r} is not a subclass of Rule.")
        slug = rule_class.slug
        if not slug or not slug.isidentifier():
            raise ImproperlyConfigured(
                f"{rule_class.__qualname__}.slug must be a Python identifier, got {slug!r}."
            )
        existing = self._rules.get(slug)
        if existing is not None:
            if type(existing) is rule_class:
                return rule_class
            raise ImproperlyConfigured(
                f"Two rules use the slug {slug!r}: "
                f"{_path(type(existing))} and {_path(rule_class)}. Rule slugs must be unique."
            )
        self._rules[slug] = rule_class()
        self.generation += 1
        return rule_class

    def unregister(self, slug):
        del self._rules[slug]
        self.generation += 1

    @contextmanager
    def register_temporarily(self, rule_class):
        """Register a rule for the duration of a ``with`` block (for tests)."""
        self.register(rule_class)
        try:
            yield self._rules[rule_class.slug]
        finally:
            self.unregister(rule_class.slug)

    def stream_block(self, exclude=(), **kwargs):
        """A ``StreamBlock`` offering every registered rule (but ``exclude``)."""
        key = (self.generation, tuple(exclude), tuple(sorted(kwargs.items())))
        if key not in self._blocks:
            self._blocks = {k: v for k, v in self._blocks.items() if k[0] == self.generation}
            self._blocks[key] = blocks.StreamBlock(
                [(rule.slug, rule.build_block()) for rule in self if rule.slug not in exclude],
                **kwargs,
            )
        return self._blocks[key]

    def get(self, slug):
        return self._rules.get(slug)

    def __contains__(self, slug):
        return slug in self._rules

    def __iter__(self):
        return iter(self._rules.values())


def _path(cls):
    return f"{cls.__module__}.{cls.__qualname__}"


registry = RuleRegistry()
register = registry.register
