"""A custom segment parameter, registered the way any project registers one.

Harbour Bank's CDN adds an ``X-Company-Size`` header from a third-party
enrichment service (number of employees of the visitor's company). Business
banking content targets companies of at least a given size.
"""

from wagtail import blocks

from wagtail_segments.rules import Rule, register
from wagtail_segments.rules.base import field_error

HEADER = "X-Company-Size"


def company_size(request):
    size = request.headers.get(HEADER, "").strip()
    return int(size) if size.isdigit() else None


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
        return f"company size ≥ {value.get('minimum')}"
