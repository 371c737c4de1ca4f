"""One walk through StreamField content, for everything that looks inside it.

The walk descends into a value only when it has the shape its block
promises. Wagtail's own blocks do not all keep to their base class:
``ImageBlock`` is a ``StructBlock`` whose value is an ``Image``, an optional
chooser holds None, a ``TypedTableBlock`` holds a ``TypedTable``.
"""

from collections.abc import Mapping

from django.utils.translation import gettext as _
from wagtail import blocks
from wagtail.blocks.list_block import ListValue
from wagtail.contrib.typed_table_block.blocks import TypedTable
from wagtail.fields import StreamField

from .blocks import AudienceMixin, PersonalisedBlock


def walk(block, value, path=()):
    """``(path, block, value)`` for ``block`` and every block inside ``value``, depth first.

    ``path`` is a tuple of labels an editor recognises ("Body", "Offer 2",
    "Variant 1"...). A ``PersonalisedBlock`` leads to its default and to the
    content of each variant that is not hidden (hidden content is never shown).
    """
    path = tuple(path)
    yield path, block, value
    if isinstance(block, PersonalisedBlock):
        if isinstance(value, Mapping):
            yield from walk(block.child_block, value.get("default"), (*path, _("Default")))
            for position, variant in enumerate(block.variants(value), start=1):
                if not variant.hide:
                    label = _("Variant %(position)s") % {"position": position}
                    yield from walk(block.child_block, variant.value, (*path, label))
    elif isinstance(block, blocks.StreamBlock):
        if isinstance(value, blocks.StreamValue):
            for position, child in enumerate(value, start=1):
                label = f"{child.block.label} {position}"
                yield from walk(child.block, child.value, (*path, label))
    elif isinstance(block, blocks.ListBlock):
        if isinstance(value, ListValue | list | tuple):
            for position, item in enumerate(value, start=1):
                yield from walk(block.child_block, item, (*path, str(position)))
    elif isinstance(block, blocks.StructBlock):
        if isinstance(value, Mapping):
            for name, child_block in block.child_blocks.items():
                if name in value:
                    yield from walk(child_block, value[name], path)
    elif isinstance(value, TypedTable):
        for row, cells in enumerate(value.row_data, start=1):
            for column, cell in zip(value.columns, cells["values"], strict=False):
                label = _("Row %(row)s, %(column)s") % {"row": row, "column": column["heading"]}
                yield from walk(column["block"], cell, (*path, label))


def walk_instance(instance):
    """``walk`` through every StreamField of a model instance, each path starting at its field."""
    for field in instance._meta.get_fields():
        if isinstance(field, StreamField):
            stream = getattr(instance, field.name)
            yield from walk(field.stream_block, stream, (str(field.verbose_name),))


def personalised_slugs(block, value):
    """The slugs of every segment that personalised content in ``value`` depends on."""
    return slugs_used(walk(block, value))


def slugs_used(walked):
    """The segment slugs named by the blocks of a walk (see ``streams.walk``)."""
    slugs = set()
    for _path, block, value in walked:
        if isinstance(block, PersonalisedBlock):
            slugs.update(slug for variant in block.variants(value) for slug in variant.segments)
        elif isinstance(block, AudienceMixin):
            slugs.update(block.audience_slugs(value))
    return slugs
