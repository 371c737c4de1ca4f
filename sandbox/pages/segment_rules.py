"""A custom segment parameter, registered the way any project registers one.

Harbour Bank's CDN adds an ``X-Company-Size`` header from a third-party
enrichment service (number of employees of the visitor's company). Business
banking content targets companies of at least a given size.
"""

from wagtail import blocks

from wagtail_segments.parsing import whole_number
from wagtail_segments.rules import Rule, register
from wagtail_segments.rules.base import field_error

HEADER = "X-Company-Size"
MAX_COMPANY_SIZE = 10_000_000


def company_size(request):
    """The header's number, or None (``whole_number`` refuses "²" and 5,000 nines)."""
    return whole_number(request.headers.get(HEADER, "").strip(), MAX_COMPANY_SIZE)


@register
class CompanySizeRule(Rule):
    slug = "company_size"
    label = "Company size"
    icon = "group"
    help_text = f"Employees of the visitor's company, from the {HEADER} enrichment header."
    fields = [("minimum", blocks.IntegerBlock(default=50, min_value=1, label="At least"))]

    def prepare(self, value):
        if not isinstance(value.get("minimum"), int) or value["minimum"] < 1:
            raise field_error("minimum", "Enter a number of employees, 1 or more.")
        return value["minimum"]

    def matches(self, value, context):
        size = company_size(context.request)
        return size is not None and size >= value

    def observed(self, value, context):
        return company_size(context.request)

    def describe(self, value):
        return f"Company size ≥ {value.get('minimum')}"
