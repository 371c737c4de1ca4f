"""``RulesField``: a StreamField whose block types come from the rule registry."""

from django.db import models
from wagtail.blocks import StreamValue
from wagtail.fields import StreamField

from .rules.registry import registry


class RulesField(StreamField):
    """Holds a segment's rules, offering every registered rule in the editor.

    The block definitions are read from the registry at run time and left out
    of ``deconstruct()``, so registering a rule never needs a migration.
    """

    def __init__(self, *args, **kwargs):
        kwargs.pop("block_lookup", None)
        super().__init__(None, **kwargs)

    @property
    def stream_block(self):
        block = registry.stream_block(collapsed=True)
        block.set_meta_options(self.block_opts)
        return block

    def from_db_value(self, value, expression, connection):
        """Keep the stored rules as they are, on ``.stored_data``.

        Wagtail drops blocks of unknown types when it loads a stream; a rule
        whose class is no longer registered must instead count as never
        matching, or an "all rules" segment would silently widen.
        """
        stream = super().from_db_value(value, expression, connection)
        stored = self.json_field.from_db_value(value, expression, connection)
        if isinstance(stream, StreamValue):
            stream.stored_data = stored if isinstance(stored, list) else []
        return stream

    def deconstruct(self):
        name, path, _, kwargs = models.Field.deconstruct(self)
        return name, path, [], kwargs


def stored_rules(stream):
    """A rules stream as stored: every rule, registered or not."""
    stored = getattr(stream, "stored_data", None)
    return stored if stored is not None else list(stream.raw_data)
