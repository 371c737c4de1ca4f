"""The built-in rule catalogue, registered exactly as a project registers its own.

Stored values are plain JSON (see ``docs/reference/rules.md``): times as
"HH:MM", pages by id, segments and interests by slug, multi-value fields as
lists. ``prepare`` validates and converts them once, when segments compile.
"""

import operator
import re
from datetime import datetime, time

import regex
from django.apps import apps
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _
from django.utils.translation.trans_real import parse_accept_lang_header
from wagtail import blocks

from ..blocks import InterestChoiceBlock, SegmentChoiceBlock, TextListBlock
from ..geo import request_country
from ..parsing import url_host
from ..useragent import request_user_agent
from .base import RULE_TIME_BUDGET, Rule, field_error
from .compiled import check_rule, compile_rules, describe_rules, in_sentence
from .registry import register_builtin as register  # built-ins run inline, without a deadline

# -- facts many rules of one request read: worked out once (``RuleContext.fact``) -------------


def user_agent(context):
    return request_user_agent(context.request)


def language(context):
    return preferred_language(context.request)


def country(context):
    return request_country(context.request)


def interest_scores(context):
    return context.visitor.scores


OPERATORS = {
    "lt": (operator.lt, "<"),
    "lte": (operator.le, "≤"),
    "eq": (operator.eq, "="),
    "gte": (operator.ge, "≥"),
    "gt": (operator.gt, ">"),
    "neq": (operator.ne, "≠"),
}


def operator_block(default="gte"):
    return blocks.ChoiceBlock(
        choices=[(key, symbol) for key, (_, symbol) in OPERATORS.items()],
        default=default,
        label=_("Operator"),
    )


def compare(operator_name, left, right):
    return OPERATORS[operator_name][0](left, right)


def symbol(operator_name):
    return OPERATORS.get(operator_name, ("", "?"))[1]


# -- summaries: "Language is de", "saving score ≥ 10", "Cookie tier is “gold”" -----------------
# A summary names what is compared, then how: "is" for equality, an operator's symbol for
# numbers; text the editor typed is in quotes, codes, slugs and numbers are not.


def number(value):
    """A number as a summary shows it: 10, not 10.0."""
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def quoted(text):
    return f"“{text}”"


def either(items):
    """ "a", "a or b", "a, b or c"; "–" for none."""
    items = [str(item) for item in items]
    if len(items) < 2:
        return items[0] if items else "–"
    return f"{', '.join(items[:-1])} {_('or')} {items[-1]}"


def check_operator(value, name="operator"):
    if value.get(name) not in OPERATORS:
        raise field_error(name, f"Choose one of {', '.join(OPERATORS)}.")


class CountRule(Rule):
    """A count of the visitor's compared with a number: ``operator`` and ``count``."""

    fields = [
        ("operator", operator_block()),
        ("count", blocks.IntegerBlock(min_value=0, default=1, label=_("Count"))),
    ]

    def count(self, value, context):
        raise NotImplementedError

    def prepare(self, value):
        check_operator(value)
        if not isinstance(value.get("count"), int) or value["count"] < 0:
            raise field_error("count", "Enter a whole number, 0 or more.")
        return {**value, "compare": OPERATORS[value["operator"]][0]}  # looked up once

    def matches(self, value, context):
        return value["compare"](self.count(value, context), value["count"])

    def observed(self, value, context):
        return self.count(value, context)

    def describe(self, value):
        return f"{self.label} {self.comparison(value)}"

    @staticmethod
    def comparison(value):
        return f"{symbol(value.get('operator'))} {number(value.get('count'))}"


@register
class PageviewsRule(CountRule):
    slug = "pageviews"
    label = _("Page views")
    icon = "doc-full"
    group = "behaviour"
    help_text = _("The visitor's page views on this site, all visits together.")

    def count(self, value, context):
        return context.visitor.pageviews


@register
class AnyOfRule(Rule):
    """OR inside AND: true when any of its nested rules is true."""

    slug = "any_of"
    label = _("Any of")
    icon = "list-ul"
    group = "advanced"
    help_text = _("True when any of these rules is true.")

    @property
    def fields(self):
        from .registry import registry

        return [("rules", registry.stream_block(exclude={self.slug}, label=_("Rules")))]

    def from_stored(self, stored):
        # A plain list of rules, as code may write it, is shorthand for {"rules": [...]}.
        return {"rules": stored} if isinstance(stored, list) else super().from_stored(stored)

    def prepare(self, value):
        nested = compile_rules(value.get("rules") or [])
        broken = [rule for rule in nested if rule.error]
        if broken:
            raise field_error("rules", f"{broken[0].type}: {broken[0].error}")
        if not nested:
            raise field_error("rules", "Add at least one rule.")
        return nested

    def matches(self, value, context):
        return any(check_rule(rule, context) for rule in value)

    def children(self, value):
        return value

    def depends_on(self, value):
        return {slug for rule in value for slug in rule.rule.depends_on(rule.value)}

    def describe(self, value):
        rules = value.get("rules") if isinstance(value.get("rules"), list) else []
        sentences = describe_rules([rule for rule in rules if isinstance(rule, dict)])
        return f"{self.label}: {'; '.join(in_sentence(text) for text in sentences) or '–'}"


# -- time ------------------------------------------------------------------------------------


class HourMinuteBlock(blocks.TimeBlock):
    """A time picker that stores "HH:MM"."""

    def get_prep_value(self, value):
        return value.strftime("%H:%M") if isinstance(value, time) else value


def parse_time(value, name):
    try:
        return value if isinstance(value, time) else time.fromisoformat(str(value))
    except ValueError:
        raise field_error(name, "Enter a time as HH:MM.") from None


@register
class TimeOfDayRule(Rule):
    slug = "time_of_day"
    label = _("Time of day")
    icon = "time"
    group = "visit"
    help_text = _(
        "From start (included) to end (excluded), in the site's time zone; "
        "a start after the end spans midnight."
    )
    fields = [
        ("start", HourMinuteBlock(default="09:00", label=_("From"))),
        ("end", HourMinuteBlock(default="17:00", label=_("Until"))),
    ]

    def prepare(self, value):
        start, end = parse_time(value.get("start"), "start"), parse_time(value.get("end"), "end")
        if start == end:
            raise field_error("end", "The end must differ from the start.")
        return start, end

    def matches(self, value, context):
        start, end = value
        now = context.now.time()
        return start <= now < end if start < end else now >= start or now < end

    def observed(self, value, context):
        return context.now.strftime("%H:%M")

    def describe(self, value):
        return f"{self.label} is {value.get('start')}–{value.get('end')}"


DAYS = [
    _("Monday"),
    _("Tuesday"),
    _("Wednesday"),
    _("Thursday"),
    _("Friday"),
    _("Saturday"),
    _("Sunday"),
]


DAY_NUMBERS = {str(day) for day in range(7)}


class DaysBlock(blocks.MultipleChoiceBlock):
    """Days of the week, stored as integers 0 (Monday) to 6 (Sunday)."""

    def __init__(self, **kwargs):
        super().__init__(choices=list(enumerate(DAYS)), **kwargs)

    def get_prep_value(self, value):
        return sorted({int(day) for day in value or ()})

    def to_python(self, value):
        return [str(day) for day in value or ()]


@register
class DayOfWeekRule(Rule):
    slug = "day_of_week"
    label = _("Day of the week")
    icon = "date"
    group = "visit"
    fields = [("days", DaysBlock(default=[0, 1, 2, 3, 4], label=_("Days")))]

    def prepare(self, value):
        try:
            days = {int(day) for day in value.get("days") or ()}
        except (TypeError, ValueError):
            raise field_error("days", "Days are numbers from 0 (Monday) to 6 (Sunday).") from None
        if not days or not days <= set(range(7)):
            raise field_error("days", "Choose at least one day, from 0 (Monday) to 6 (Sunday).")
        return frozenset(days)

    def matches(self, value, context):
        return context.now.weekday() in value

    def observed(self, value, context):
        return str(DAYS[context.now.weekday()])

    def describe(self, value):
        days = {int(day) for day in value.get("days") or () if str(day) in DAY_NUMBERS}
        return f"{self.label} is {either(DAYS[day] for day in sorted(days))}"


def parse_moment(value, name):
    if value in (None, ""):
        return None
    moment = value if isinstance(value, datetime) else parse_datetime(str(value))
    if moment is None:
        raise field_error(name, "Enter a date and time.")
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment)


@register
class DateRangeRule(Rule):
    slug = "date_range"
    label = _("Date range")
    icon = "calendar"
    group = "visit"
    help_text = _("Between two moments; leave one blank for an open range.")
    fields = [
        ("start", blocks.DateTimeBlock(required=False, label=_("From"))),
        ("end", blocks.DateTimeBlock(required=False, label=_("Until"))),
    ]

    def prepare(self, value):
        start, end = (
            parse_moment(value.get("start"), "start"),
            parse_moment(value.get("end"), "end"),
        )
        if start and end and start >= end:
            raise field_error("end", "The end must come after the start.")
        if not (start or end):
            raise field_error("start", "Give a start, an end, or both.")
        return start, end

    def matches(self, value, context):
        start, end = value
        return (start is None or context.now >= start) and (end is None or context.now < end)

    def observed(self, value, context):
        return context.now.strftime("%Y-%m-%d %H:%M")

    def describe(self, value):
        start, end = moment_text(value.get("start")), moment_text(value.get("end"))
        if start and end:
            return f"Date is from {start} until {end}"
        return f"Date is from {start}" if start else f"Date is until {end or '…'}"


def moment_text(value):
    """A stored moment as "2026-01-31 09:00"; what is not one, as it is."""
    if value in (None, ""):
        return ""
    moment = value if isinstance(value, datetime) else parse_datetime(str(value))
    return moment.strftime("%Y-%m-%d %H:%M") if moment else str(value)


# -- where the visit came from ---------------------------------------------------------------

TEXT_MATCHES = [("contains", _("contains")), ("equals", _("equals")), ("regex", _("matches regex"))]
# How a summary says each way of matching text.
MATCH_WORDS = {"contains": "contains", "equals": "is", "domain": "domain is", "regex": "matches"}


def compile_text_match(value, match_name="match", value_name="value", allowed=None):
    """Validate a (match, value) pair; regexes are compiled here, once.

    An editor's regex runs with the ``regex`` package and a timeout, so a
    pattern that backtracks without end (``(a|aa)+$``) gives up within the
    rule's time budget instead of holding the worker: ``text_matches`` raises
    ``TimeoutError``, which counts as not matching.
    """
    match, text = value.get(match_name), value.get(value_name) or ""
    if match not in (allowed or {choice for choice, _label in TEXT_MATCHES}):
        raise field_error(match_name, "Choose how to match.")
    if match == "regex":
        try:
            return match, regex.compile(text, regex.IGNORECASE)
        except regex.error as error:
            raise field_error(
                value_name, f"This is not a valid regular expression: {error}."
            ) from None
    return match, text.lower()


def text_matches(match, pattern, text):
    text = text or ""
    if match == "regex":
        return pattern.search(text, timeout=RULE_TIME_BUDGET) is not None
    if match == "equals":
        return text.lower() == pattern
    if match == "domain":
        host = url_host(text)
        return host == pattern or host.endswith("." + pattern)
    return pattern in text.lower()


@register
class ReferrerRule(Rule):
    slug = "referrer"
    label = _("Referrer")
    icon = "link-external"
    group = "visit"
    help_text = _("The other site that sent the visitor at the start of this visit.")
    fields = [
        (
            "match",
            blocks.ChoiceBlock(
                choices=[
                    ("contains", _("contains")),
                    ("domain", _("domain is")),
                    ("regex", _("matches regex")),
                ],
                default="domain",
                label=_("Match"),
            ),
        ),
        ("value", blocks.CharBlock(max_length=200, label=_("Value"))),
    ]

    def prepare(self, value):
        match, pattern = compile_text_match(value, allowed={"contains", "domain", "regex"})
        if not pattern:
            raise field_error("value", "Enter what the referrer should match.")
        return match, pattern.removeprefix("www.") if match == "domain" else pattern

    def matches(self, value, context):
        return bool(context.visitor.referrer) and text_matches(*value, context.visitor.referrer)

    def observed(self, value, context):
        return context.visitor.referrer or None

    def describe(self, value):
        how = MATCH_WORDS.get(value.get("match"), value.get("match"))
        return f"{self.label} {how} {quoted(value.get('value'))}"


UTM_CHOICES = [(name, name) for name in ("source", "medium", "campaign", "term", "content")]


@register
class UtmRule(Rule):
    slug = "utm"
    label = _("UTM parameter")
    icon = "tag"
    group = "visit"
    help_text = _("A UTM parameter of the link that started this visit (case-insensitive).")
    fields = [
        (
            "parameter",
            blocks.ChoiceBlock(choices=UTM_CHOICES, default="campaign", label=_("Parameter")),
        ),
        ("value", blocks.CharBlock(max_length=200, label=_("Value"))),
    ]

    def prepare(self, value):
        if value.get("parameter") not in dict(UTM_CHOICES):
            raise field_error("parameter", "Choose source, medium, campaign, term or content.")
        if not value.get("value"):
            raise field_error("value", "Enter the value to look for.")
        return value["parameter"], value["value"].lower()

    def matches(self, value, context):
        parameter, expected = value
        return context.visitor.utm.get(parameter, "").lower() == expected

    def observed(self, value, context):
        return context.visitor.utm.get(value[0])

    def describe(self, value):
        return f"utm_{value.get('parameter')} is {quoted(value.get('value'))}"


@register
class QueryParamRule(Rule):
    slug = "query_param"
    label = _("Query parameter")
    icon = "search"
    group = "visit"
    help_text = _("The current address has this parameter (with this value, when given).")
    fields = [
        ("name", blocks.CharBlock(max_length=100, label=_("Name"))),
        (
            "value",
            blocks.CharBlock(
                max_length=200,
                required=False,
                label=_("Value"),
                help_text=_("Blank: present with any value."),
            ),
        ),
    ]

    def prepare(self, value):
        if not value.get("name"):
            raise field_error("name", "Enter the parameter's name.")
        return value["name"], value.get("value") or ""

    def matches(self, value, context):
        name, expected = value
        if name not in context.request.GET:
            return False
        return not expected or expected in context.request.GET.getlist(name)

    def observed(self, value, context):
        return context.request.GET.get(value[0])

    def describe(self, value):
        if value.get("value"):
            return f"{self.label} {value.get('name')} is {quoted(value.get('value'))}"
        return f"{self.label} {value.get('name')} is present"


class PageIdChooserBlock(blocks.PageChooserBlock):
    """A page chooser that also takes a page's id, as a segment written in code gives it."""

    def get_prep_value(self, value):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if value is not None and not hasattr(value, "pk"):
            raise TypeError(f"page: give a page or its id, not {value!r}")
        return super().get_prep_value(value)


class PageRule(Rule):
    """A rule about one page, stored by id."""

    page_field = ("page", PageIdChooserBlock(label=_("Page")))

    def page_id(self, value):
        page = value.get("page")
        if not isinstance(page, int) or isinstance(page, bool):
            raise field_error("page", "Choose a page.")
        return page

    def describe_page(self, value):
        from wagtail.models import Page

        title = Page.objects.filter(pk=value.get("page")).values_list("title", flat=True).first()
        return f"“{title}”" if title else f"page {value.get('page')} (deleted)"


@register
class LandingPageRule(PageRule):
    slug = "landing_page"
    label = _("Landing page")
    icon = "doc-empty-inverse"
    group = "visit"
    help_text = _("The current visit started on this page.")
    fields = [PageRule.page_field]

    def prepare(self, value):
        return self.page_id(value)

    def matches(self, value, context):
        return context.visitor.landing_page == value

    def observed(self, value, context):
        return context.visitor.landing_page

    def describe(self, value):
        return f"{self.label} is {self.describe_page(value)}"


# -- the visitor's history -------------------------------------------------------------------


@register
class VisitedPageRule(PageRule, CountRule):
    slug = "visited_page"
    label = _("Visited page")
    icon = "doc-full-inverse"
    group = "behaviour"
    help_text = _("How often the visitor viewed this page.")
    fields = [PageRule.page_field, *CountRule.fields]

    def prepare(self, value):
        return {**CountRule.prepare(self, value), "page": self.page_id(value)}

    def count(self, value, context):
        return context.visitor.page_view_count(value["page"])

    def describe(self, value):
        return f"Views of {self.describe_page(value)} {self.comparison(value)}"


@register
class VisitCountRule(CountRule):
    slug = "visit_count"
    label = _("Visits")
    icon = "repeat"
    group = "behaviour"
    help_text = _("Visits so far; a visit ends after 30 idle minutes (configurable).")

    def count(self, value, context):
        return context.visitor.visits


@register
class NewVisitorRule(Rule):
    slug = "new_visitor"
    label = _("New visitor")
    icon = "user"
    group = "behaviour"
    help_text = _("The visitor is on their first visit.")

    def matches(self, value, context):
        return context.visitor.is_new

    def observed(self, value, context):
        return f"visit {context.visitor.visits}"


# -- the device and the person ---------------------------------------------------------------

DEVICE_TYPES = [("mobile", _("Mobile")), ("tablet", _("Tablet")), ("desktop", _("Desktop"))]


@register
class DeviceRule(Rule):
    slug = "device"
    label = _("Device")
    icon = "mobile-alt"
    group = "device"
    fields = [
        (
            "device_type",
            blocks.ChoiceBlock(choices=DEVICE_TYPES, default="mobile", label=_("Device type")),
        )
    ]

    def prepare(self, value):
        if value.get("device_type") not in dict(DEVICE_TYPES):
            raise field_error("device_type", "Choose mobile, tablet or desktop.")
        return value["device_type"]

    def matches(self, value, context):
        return context.fact(user_agent).device_type == value

    def observed(self, value, context):
        return context.fact(user_agent).device_type

    def describe(self, value):
        return f"{self.label} is {value.get('device_type')}"


@register
class BrowserRule(Rule):
    slug = "browser"
    label = _("Browser")
    icon = "desktop"
    group = "device"
    help_text = _(
        "Browser and operating system families contain these words "
        "(case-insensitive), e.g. “Firefox”, “iOS”; leave one blank for any."
    )
    fields = [
        ("family", blocks.CharBlock(required=False, max_length=60, label=_("Browser"))),
        ("os", blocks.CharBlock(required=False, max_length=60, label=_("Operating system"))),
    ]

    def prepare(self, value):
        family, os_family = (value.get("family") or "").lower(), (value.get("os") or "").lower()
        if not (family or os_family):
            raise field_error("family", "Give a browser, an operating system, or both.")
        return family, os_family

    def matches(self, value, context):
        family, os_family = value
        agent = context.fact(user_agent)
        return family in agent.browser.lower() and os_family in agent.os.lower()

    def observed(self, value, context):
        agent = context.fact(user_agent)
        return f"{agent.browser} on {agent.os}"

    def describe(self, value):
        family, os_family = value.get("family"), value.get("os")
        if family and os_family:
            return f"{self.label} is {quoted(family)} on {quoted(os_family)}"
        if family:
            return f"{self.label} is {quoted(family)}"
        return f"Operating system is {quoted(os_family)}"


def preferred_language(request):
    for code, _quality in parse_accept_lang_header(
        request.headers.get("Accept-Language", "")[:200]
    ):
        if code != "*":
            return code.lower()
    return ""


@register
class LanguageRule(Rule):
    slug = "language"
    label = _("Language")
    icon = "globe"
    group = "device"
    help_text = _(
        "The browser's preferred language, e.g. “de” (matches de-DE and de-AT) or “pt-br”."
    )
    fields = [("languages", TextListBlock(label=_("Languages")))]

    def prepare(self, value):
        codes = [code.lower() for code in value.get("languages") or ()]
        if not codes or not all(
            re.fullmatch(r"[a-z]{1,8}(-[a-z0-9]{1,8})*", code) for code in codes
        ):
            raise field_error(
                "languages", "Enter language codes separated by commas, e.g. en, de-AT."
            )
        return tuple(codes)

    def matches(self, value, context):
        preferred = context.fact(language)
        return any(preferred == code or preferred.startswith(code + "-") for code in value)

    def observed(self, value, context):
        return context.fact(language) or None

    def describe(self, value):
        return f"{self.label} is {either(value.get('languages') or ())}"


@register
class CountryRule(Rule):
    slug = "country"
    label = _("Country")
    icon = "site"
    group = "device"
    help_text = _("ISO codes such as GB, DE; read from the trusted country header or GeoIP2.")
    fields = [("countries", TextListBlock(label=_("Countries")))]

    def prepare(self, value):
        codes = [code.upper() for code in value.get("countries") or ()]
        if not codes or not all(re.fullmatch(r"[A-Z]{2}", code) for code in codes):
            raise field_error(
                "countries", "Enter two-letter country codes separated by commas, e.g. GB, IE."
            )
        return frozenset(codes)

    def matches(self, value, context):
        return context.fact(country) in value

    def observed(self, value, context):
        return context.fact(country) or None

    def describe(self, value):
        return f"{self.label} is {either(value.get('countries') or ())}"


def request_user(request):
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


@register
class LoggedInRule(Rule):
    slug = "logged_in"
    label = _("Logged in")
    icon = "login"
    group = "people"

    def matches(self, value, context):
        return request_user(context.request) is not None

    def observed(self, value, context):
        return request_user(context.request) is not None


def user_group_names(request):
    """The user's group names, read once per request (the only query a rule makes)."""
    names = getattr(request, "_wagtail_segments_groups", None)
    if names is None:
        user = request_user(request)
        names = frozenset(user.groups.values_list("name", flat=True)) if user else frozenset()
        request._wagtail_segments_groups = names
    return names


@register
class UserGroupRule(Rule):
    slug = "user_group"
    label = _("User group")
    icon = "group"
    group = "people"
    help_text = _("The logged-in user belongs to any of these groups (names).")
    fields = [("groups", TextListBlock(label=_("Groups")))]

    def prepare(self, value):
        groups = frozenset(value.get("groups") or ())
        if not groups:
            raise field_error("groups", "Enter at least one group name.")
        return groups

    def matches(self, value, context):
        return bool(value & user_group_names(context.request))

    def observed(self, value, context):
        return ", ".join(sorted(user_group_names(context.request))) or None

    def describe(self, value):
        return f"{self.label} is {either(map(quoted, value.get('groups') or ()))}"


@register
class CookieRule(Rule):
    slug = "cookie"
    label = _("Cookie")
    icon = "code"
    group = "advanced"
    fields = [
        ("name", blocks.CharBlock(max_length=100, label=_("Name"))),
        (
            "match",
            blocks.ChoiceBlock(
                choices=[("present", _("is present")), *TEXT_MATCHES],
                default="equals",
                label=_("Match"),
            ),
        ),
        ("value", blocks.CharBlock(max_length=200, required=False, label=_("Value"))),
    ]

    def prepare(self, value):
        if not value.get("name"):
            raise field_error("name", "Enter the cookie's name.")
        if value.get("match") == "present":
            return value["name"], "present", None
        return (value["name"], *compile_text_match(value))

    def matches(self, value, context):
        name, match, pattern = value
        if name not in context.request.COOKIES:
            return False
        return match == "present" or text_matches(match, pattern, context.request.COOKIES[name])

    def observed(self, value, context):
        return context.request.COOKIES.get(value[0])

    def describe(self, value):
        if value.get("match") == "present":
            return f"{self.label} {value.get('name')} is present"
        how = MATCH_WORDS.get(value.get("match"), value.get("match"))
        return f"{self.label} {value.get('name')} {how} {quoted(value.get('value'))}"


# -- events, attributes, scores --------------------------------------------------------------


def as_number(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    try:
        return float(str(value))
    except ValueError:
        return None


def as_text(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@register
class AttributeRule(Rule):
    slug = "attribute"
    label = _("Attribute")
    icon = "form"
    group = "advanced"
    help_text = _(
        "A visitor attribute set by the site (set_attribute); compared as numbers "
        "when both sides are numbers. A missing attribute never matches."
    )
    fields = [
        ("key", blocks.CharBlock(max_length=40, label=_("Key"))),
        ("operator", operator_block("eq")),
        ("value", blocks.CharBlock(max_length=120, label=_("Value"))),
    ]

    def prepare(self, value):
        if not value.get("key"):
            raise field_error("key", "Enter the attribute's key.")
        check_operator(value)
        return value["key"], value["operator"], as_text(value.get("value", ""))

    def matches(self, value, context):
        key, operator_name, expected = value
        if key not in context.visitor.attributes:
            return False
        actual = context.visitor.attributes[key]
        left, right = as_number(actual), as_number(expected)
        if left is None or right is None:
            left, right = as_text(actual).lower(), expected.lower()
        return compare(operator_name, left, right)

    def observed(self, value, context):
        return context.visitor.attributes.get(value[0])

    def describe(self, value):
        return f"{value.get('key')} {symbol(value.get('operator'))} {value.get('value')}"


@register
class EventCountRule(CountRule):
    slug = "event_count"
    label = _("Event count")
    icon = "pick"
    group = "behaviour"
    help_text = _("How often the visitor did something (track_event), ever or in the last days.")
    fields = [
        ("event", blocks.CharBlock(max_length=40, label=_("Event"))),
        *CountRule.fields,
        (
            "within_days",
            blocks.IntegerBlock(
                required=False,
                min_value=1,
                max_value=8,
                label=_("Within days"),
                help_text=_("Blank: ever (the profile keeps 8 days of counts)."),
            ),
        ),
    ]

    def prepare(self, value):
        value = super().prepare(value)
        if not value.get("event"):
            raise field_error("event", "Enter the event's name.")
        within = value.get("within_days")
        if within is not None and (not isinstance(within, int) or within < 1):
            raise field_error("within_days", "Enter a number of days, 1 or more, or leave blank.")
        return value

    def count(self, value, context):
        return context.visitor.event_count(value["event"], value.get("within_days"))

    def describe(self, value):
        days = value.get("within_days")
        when = f" in the last {days} days" if days else ""
        return f"{quoted(value.get('event'))} events{when} {self.comparison(value)}"


def known_interests():
    # By name, as the choosers find theirs: the models define fields of the rules' blocks.
    interest = apps.get_model("wagtail_segments", "Interest")
    return dict(interest.objects.values_list("slug", "group"))


def check_interest(value, interests):
    if value.get("interest") not in interests:
        raise field_error("interest", f"Unknown interest “{value.get('interest')}”.")


@register
class InterestScoreRule(Rule):
    slug = "interest_score"
    label = _("Interest score")
    icon = "pick"
    group = "interests"
    help_text = _("The visitor's score for an interest, after decay.")
    fields = [
        ("interest", InterestChoiceBlock()),
        ("operator", operator_block()),
        ("score", blocks.FloatBlock(default=20, min_value=0, label=_("Score"))),
    ]

    def prepare(self, value):
        check_interest(value, known_interests())
        check_operator(value)
        if as_number(value.get("score")) is None:
            raise field_error("score", "Enter a number.")
        # The comparison is looked up once: a page may check many interest scores.
        return value["interest"], OPERATORS[value["operator"]][0], float(value["score"])

    def matches(self, value, context):
        interest, compared, score = value
        return compared(context.fact(interest_scores).get(interest, 0), score)

    def observed(self, value, context):
        return round(context.fact(interest_scores).get(value[0], 0), 1)

    def describe(self, value):
        operator = symbol(value.get("operator"))
        return f"{value.get('interest')} score {operator} {number(value.get('score'))}"


@register
class TopInterestRule(Rule):
    slug = "top_interest"
    label = _("Top interest")
    icon = "crosshairs"
    group = "interests"
    help_text = _(
        "The visitor's highest-scored interest (within a group when given), with at "
        "least the minimum score and a minimum lead over the runner-up."
    )
    fields = [
        ("interest", InterestChoiceBlock()),
        (
            "group",
            blocks.CharBlock(
                required=False,
                max_length=60,
                label=_("Group"),
                help_text=_("Compare only with interests of this group."),
            ),
        ),
        ("min_score", blocks.FloatBlock(default=0, min_value=0, label=_("Minimum score"))),
        ("min_lead", blocks.FloatBlock(default=0, min_value=0, label=_("Minimum lead"))),
    ]

    def prepare(self, value):
        interests = known_interests()
        check_interest(value, interests)
        group = value.get("group") or ""
        if group and interests[value["interest"]] != group:
            raise field_error("group", f"“{value['interest']}” is not in the group “{group}”.")
        for name in ("min_score", "min_lead"):
            number = as_number(value.get(name))
            if number is None or number < 0:
                raise field_error(name, "Enter a number, 0 or more.")
        rivals = frozenset(slug for slug, g in interests.items() if not group or g == group)
        return value["interest"], rivals, float(value["min_score"]), float(value["min_lead"])

    def ranking(self, value, context):
        _interest, rivals, _min_score, _min_lead = value
        scores = context.fact(interest_scores)
        return sorted(((scores[slug], slug) for slug in rivals if slug in scores), reverse=True)

    def matches(self, value, context):
        interest, _rivals, min_score, min_lead = value
        ranking = self.ranking(value, context)
        if not ranking or ranking[0][1] != interest:
            return False
        runner_up = ranking[1][0] if len(ranking) > 1 else 0
        return ranking[0][0] >= min_score and ranking[0][0] - runner_up >= min_lead

    def observed(self, value, context):
        ranking = self.ranking(value, context)
        return ", ".join(f"{slug} {score:.1f}" for score, slug in ranking[:2]) or None

    def describe(self, value):
        text = f"{self.label} is {value.get('interest')}"
        if value.get("min_score"):
            text += f", score ≥ {number(value['min_score'])}"
        if value.get("min_lead"):
            text += f", lead ≥ {number(value['min_lead'])}"
        return text


# -- other segments, buckets and lists -------------------------------------------------------


@register
class InSegmentRule(Rule):
    slug = "in_segment"
    label = _("In segment")
    icon = "group"
    group = "advanced"
    help_text = _("The visitor is a member of another segment.")
    fields = [("segment", SegmentChoiceBlock())]

    def prepare(self, value):
        if not value.get("segment"):
            raise field_error("segment", "Choose a segment.")
        return value["segment"]

    def depends_on(self, value):
        return {value}

    def matches(self, value, context):
        return context.segments.is_member(value)

    def observed(self, value, context):
        return context.segments.is_member(value)

    def describe(self, value):
        return f"{self.label} {value.get('segment')}"


@register
class RandomBucketRule(Rule):
    slug = "random_bucket"
    label = _("Random bucket")
    icon = "table"
    group = "advanced"
    help_text = _(
        "A stable random share of visitors (for A/B tests): each visitor always "
        "lands in the same bucket of this segment."
    )
    fields = [
        ("percent", blocks.FloatBlock(default=50, min_value=0, max_value=100, label=_("Percent")))
    ]

    def prepare(self, value):
        percent = as_number(value.get("percent"))
        if percent is None or not 0 <= percent <= 100:
            raise field_error("percent", "Enter a percentage from 0 to 100.")
        return float(percent)

    def matches(self, value, context):
        return context.visitor.percentile(context.segment.slug, "bucket") < value

    def observed(self, value, context):
        return context.visitor.percentile(context.segment.slug, "bucket")

    def describe(self, value):
        return f"{self.label}: {number(value.get('percent'))} % of visitors"


@register
class ManualRule(Rule):
    slug = "manual"
    label = _("Manual list")
    icon = "list-ul"
    group = "people"
    help_text = _("The user or visitor is on this segment's imported member list.")

    def matches(self, value, context):
        segment = context.segment
        user = request_user(context.request)
        return (user is not None and user.pk in segment.manual_users) or (
            context.visitor.visitor_id in segment.manual_visitors
        )

    def observed(self, value, context):
        return self.matches(value, context)

    def describe(self, value):
        return "On the segment's imported member list"
