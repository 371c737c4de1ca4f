"""StreamField blocks of the package, under the path projects import and migrations freeze.

``choosers``: segments, interests and lists of values; ``personalised``: the
personalised block and its variants (``loading``: how a page loads them in
bulk); ``audience``: the audience setting of any StructBlock; ``placements``:
what a placement holds.
"""

from .audience import AudienceBlock, AudienceMixin
from .choosers import (
    CHOICE_NOTE_HOOK,
    InterestChoiceBlock,
    SegmentChoiceBlock,
    SegmentsChoiceBlock,
    TextListBlock,
    interest_choices,
    segment_choices,
    segment_choices_with_potential,
)
from .personalised import MatchBlock, PersonalisedBlock, VariantBlock, VariantListBlock
from .placements import BannerBlock, PlacementContentBlock

__all__ = [
    "CHOICE_NOTE_HOOK",
    "AudienceBlock",
    "AudienceMixin",
    "BannerBlock",
    "InterestChoiceBlock",
    "MatchBlock",
    "PersonalisedBlock",
    "PlacementContentBlock",
    "SegmentChoiceBlock",
    "SegmentsChoiceBlock",
    "TextListBlock",
    "VariantBlock",
    "VariantListBlock",
    "interest_choices",
    "segment_choices",
    "segment_choices_with_potential",
]
