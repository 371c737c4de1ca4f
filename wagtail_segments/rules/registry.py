"""The registry of segment parameters (rules), built-in and the project's own."""

import hashlib
import threading
from contextlib import contextmanager

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from wagtail import hooks

from .base import Rule
from .stream import UNAVAILABLE, RuleStreamBlock


class RuleRegistry:
    def __init__(self):
        self._rules = {}
        self.builtin = {}  # slug -> the package's own rules: pure and fast, run inline
        # Bumped on every change, so the editor blocks are rebuilt from the registry.
        self.generation = 0
        self._blocks = {}
        self._fingerprint = (None, "")
        self.hooks_loaded = False
        self._hooks_lock = threading.RLock()
        self._hooks_loading = False

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
        if not slug or not slug.isidentifier() or slug == UNAVAILABLE:
            raise ImproperlyConfigured(
                f"{rule_class.__qualname__}.slug must be a Python identifier other than "
                f"{UNAVAILABLE!r}, got {slug!r}."
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

    def register_builtin(self, rule_class):
        """Register one of the package's own rules, which runs without a deadline."""
        self.register(rule_class)
        self.builtin[rule_class.slug] = self._rules[rule_class.slug]
        return rule_class

    def unregister(self, slug):
        del self._rules[slug]
        self.builtin.pop(slug, None)
        self.generation += 1

    def load_hooks(self):
        """Import every app's ``wagtail_hooks`` once, as projects may register rules there.

        A process that never loads Wagtail's hooks (a management command, a
        worker) would otherwise compile and save segments without those rules.
        Called before the registry is read, never at import time.
        """
        if self.hooks_loaded or not apps.ready:
            return
        with self._hooks_lock:
            if self.hooks_loaded or self._hooks_loading:  # done meanwhile, or a hooks module asks
                return
            self._hooks_loading = True
            try:
                hooks.search_for_hooks()
            finally:
                self._hooks_loading = False
            self.hooks_loaded = True

    @property
    def fingerprint(self):
        """A short hash of the registered rules: processes share compiled rules only if equal."""
        self.load_hooks()
        generation, digest = self._fingerprint
        if generation != self.generation:
            names = sorted(f"{slug}={_path(type(rule))}" for slug, rule in self._rules.items())
            digest = hashlib.sha256("\n".join(names).encode()).hexdigest()[:12]
            self._fingerprint = (self.generation, digest)
        return digest

    @contextmanager
    def register_temporarily(self, rule_class):
        """Register a rule for the duration of a ``with`` block (for tests)."""
        self.register(rule_class)
        try:
            yield self._rules[rule_class.slug]
        finally:
            self.unregister(rule_class.slug)

    def stream_block(self, exclude=(), **kwargs):
        """A stream offering every registered rule (but ``exclude``), keeping unknown ones."""
        self.load_hooks()
        key = (self.generation, tuple(exclude), tuple(sorted(kwargs.items())))
        if key not in self._blocks:
            self._blocks = {k: v for k, v in self._blocks.items() if k[0] == self.generation}
            self._blocks[key] = RuleStreamBlock(
                [(rule.slug, rule.build_block()) for rule in self if rule.slug not in exclude],
                **kwargs,
            )
        return self._blocks[key]

    def get(self, slug):
        if not self.hooks_loaded:  # (the check inline: rules are looked up on every request)
            self.load_hooks()
        return self._rules.get(slug)

    def __contains__(self, slug):
        self.load_hooks()
        return slug in self._rules

    def __iter__(self):
        self.load_hooks()
        return iter(self._rules.values())


def _path(cls):
    return f"{cls.__module__}.{cls.__qualname__}"


registry = RuleRegistry()
register = registry.register
register_builtin = registry.register_builtin
