"""``RulesField``: a StreamField whose block types come from the rule registry."""

from django.db import models
from wagtail.fields import StreamField

from .rules.registry import registry


class RulesField(StreamField):
    """Holds a segment's rules, offering every registered rule in the editor.

    The block definitions are read from the registry at run time and left out
    of ``deconstruct()``, so registering a rule never needs a migration. A rule
    whose type is not registered is kept as stored (see ``rules.stream``).
    """

    def __init__(self, *args, **kwargs):
        kwargs.pop("block_lookup", None)
        super().__init__(None, **kwargs)

    @property
    def stream_block(self):
        block = registry.stream_block(collapsed=True)
        block.set_meta_options(self.block_opts)
        return block

    def deconstruct(self):
        name, path, _, kwargs = models.Field.deconstruct(self)
        return name, path, [], kwargs


def stored_rules(stream):
    """A rules stream as stored: every rule, registered or not."""
    return list(stream.raw_data)
