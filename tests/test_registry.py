import pytest
from django.core.exceptions import ImproperlyConfigured
from wagtail.blocks import StructBlockValidationError

from tests.testapp.rules import LoyaltyTierRule
from wagtail_segments.fields import RulesField
from wagtail_segments.models import Segment
from wagtail_segments.rules import Rule, register, registry


class HeaderRule(Rule):
    slug = "has_header"
    label = "Has header"

    def matches(self, value, context):
        return True


def test_a_project_rule_is_offered_in_the_segment_editor():
    stream_block = Segment._meta.get_field("rules").stream_block
    assert "loyalty_tier" in list(stream_block.child_blocks)
    block = stream_block.child_blocks["loyalty_tier"]
    assert list(block.child_blocks) == ["tier", "negate"]
    assert block.label == "Loyalty tier"


def test_register_works_as_decorator_and_call_and_is_idempotent():
    assert register(HeaderRule) is HeaderRule
    try:
        assert register(HeaderRule) is HeaderRule
        assert "has_header" in registry
        assert "has_header" in list(Segment._meta.get_field("rules").stream_block.child_blocks)
    finally:
        registry.unregister("has_header")
    assert "has_header" not in list(Segment._meta.get_field("rules").stream_block.child_blocks)


def test_duplicate_slug_fails_loudly():
    class Impostor(Rule):
        slug = "loyalty_tier"

    with pytest.raises(ImproperlyConfigured, match="Two rules use the slug 'loyalty_tier'"):
        register(Impostor)
    assert type(registry.get("loyalty_tier")) is LoyaltyTierRule


@pytest.mark.parametrize("slug", ["", "has space", "9lives", None])
def test_slugs_must_be_identifiers(slug):
    class Bad(Rule):
        pass

    Bad.slug = slug
    with pytest.raises(ImproperlyConfigured, match="must be a Python identifier"):
        register(Bad)


def test_only_rule_subclasses_register():
    with pytest.raises(ImproperlyConfigured, match="not a subclass of Rule"):
        register(object)


def test_register_temporarily_cleans_up():
    with registry.register_temporarily(HeaderRule) as rule:
        assert registry.get("has_header") is rule
    assert "has_header" not in registry


def test_rules_field_keeps_blocks_out_of_migrations():
    name, path, args, kwargs = Segment._meta.get_field("rules").deconstruct()
    assert (path, args) == ("wagtail_segments.fields.RulesField", [])
    assert "block_lookup" not in kwargs
    assert isinstance(RulesField(blank=True, block_lookup={0: "ignored"}), RulesField)


def test_editor_validation_is_field_specific():
    block = registry.get("loyalty_tier").build_block()
    assert block.clean({"tier": "gold", "negate": False})["tier"] == "gold"
    with pytest.raises(StructBlockValidationError) as error:
        block.clean({"tier": "bronze", "negate": False})
    assert set(error.value.block_errors) == {"tier"}
