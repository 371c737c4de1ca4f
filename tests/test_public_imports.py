"""Every name users' code, templates and migrations import keeps its path across refactors."""

import importlib

import pytest

# Documented or frozen into users' migrations (``wagtail_segments.blocks.*`` in block_lookup).
PUBLIC = [
    ("wagtail_segments.middleware", "SegmentsMiddleware"),
    ("wagtail_segments.blocks", "PersonalisedBlock"),
    ("wagtail_segments.blocks", "SegmentsChoiceBlock"),
    ("wagtail_segments.blocks", "SegmentChoiceBlock"),
    ("wagtail_segments.blocks", "InterestChoiceBlock"),
    ("wagtail_segments.blocks", "AudienceMixin"),
    ("wagtail_segments.blocks", "AudienceBlock"),
    ("wagtail_segments.blocks", "VariantBlock"),
    ("wagtail_segments.blocks", "VariantListBlock"),
    ("wagtail_segments.blocks", "MatchBlock"),
    ("wagtail_segments.blocks", "TextListBlock"),
    ("wagtail_segments.blocks", "BannerBlock"),
    ("wagtail_segments.blocks", "PlacementContentBlock"),
    ("wagtail_segments.blocks", "segment_choices"),
    ("wagtail_segments.panels", "InterestPointsMixin"),
    ("wagtail_segments.api", "in_segment"),
    ("wagtail_segments.api", "get_segments"),
    ("wagtail_segments.rules", "Rule"),
    ("wagtail_segments.rules", "register"),
    ("wagtail_segments.rules.compiled", "check_rule"),
    ("wagtail_segments.rules.compiled", "compile_rule"),
    ("wagtail_segments.engine", "SegmentSet"),
    ("wagtail_segments.current", "visitor_state"),
    ("wagtail_segments.visitor.stores", "BaseProfileStore"),
    ("wagtail_segments.visitor.stores", "ServerSideStore"),
    ("wagtail_segments.visitor.profile", "VisitorProfile"),
    ("wagtail_segments.signals", "segment_entered"),
    ("wagtail_segments.signals", "segment_left"),
    ("wagtail_segments.manual_lists", "add_members"),
    ("wagtail_segments.manual_lists", "replace_members"),
    ("wagtail_segments.preview", "PersonalisedPreviewMixin"),
]


FROZEN_PATH = r"'(wagtail_segments\.(?:blocks|fields|rules)[\w.]*\.\w+)'"


@pytest.mark.parametrize(("module", "name"), PUBLIC)
def test_public_name_is_importable(module, name):
    assert getattr(importlib.import_module(module), name)


def test_every_block_path_frozen_in_the_migrations_resolves():
    import pathlib
    import re

    import wagtail_segments

    package = pathlib.Path(wagtail_segments.__file__).parent
    roots = [package, pathlib.Path(__file__).parent, package.parent / "sandbox"]
    frozen = set()
    for root in roots:
        for migration in root.rglob("migrations/0*.py"):
            frozen.update(re.findall(FROZEN_PATH, migration.read_text()))
    assert frozen, "the migrations freeze block paths"
    for path in sorted(frozen):
        module, _, name = path.rpartition(".")
        assert getattr(importlib.import_module(module), name), path


def test_every_block_deconstructs_to_the_public_path():
    """The blocks live in submodules of ``blocks/``; migrations still freeze ``blocks.X``
    (or, as Wagtail freezes struct, stream and choice blocks, Wagtail's own class)."""
    from wagtail import blocks as core

    from wagtail_segments import blocks

    child = core.CharBlock()
    arguments = {
        "PersonalisedBlock": (child,),
        "VariantBlock": (child,),
        "VariantListBlock": (blocks.VariantBlock(child),),
    }
    for name in blocks.__all__:
        cls = getattr(blocks, name)
        if isinstance(cls, type) and issubclass(cls, core.Block):
            path, _, _ = cls(*arguments.get(name, ())).deconstruct()
            public = path == f"wagtail_segments.blocks.{name}"
            assert public or path.startswith("wagtail.blocks."), (name, path)
            module, _, attribute = path.rpartition(".")
            assert getattr(importlib.import_module(module), attribute)
