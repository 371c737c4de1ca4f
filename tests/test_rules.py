"""Every rule of the built-in catalogue: true, false, negated, edges and bad data.

``judge`` checks each verdict twice, once as stored and once negated, so
every case below also proves that ``negate`` inverts that rule.
"""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import AnonymousUser, Group
from django.test import RequestFactory, override_settings
from wagtail import blocks

from tests.factories import InterestFactory, profile_with
from wagtail_segments.engine import CompiledSegment, SegmentSet
from wagtail_segments.rules import registry
from wagtail_segments.rules.compiled import check_rule, compile_rule
from wagtail_segments.visitor.profile import VisitorProfile

LONDON = ZoneInfo("Europe/London")
MONDAY_NOON = datetime(2026, 11, 23, 12, 0, tzinfo=LONDON)
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)
IPAD = (
    "Mozilla/5.0 (iPad; CPU OS 16_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/16.0 Mobile/15E148 Safari/604.1"
)
FIREFOX_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
SEGMENT = CompiledSegment(pk=1, slug="tested", name="Tested", match_all=True, rules=(), fields={})


def judge(rule_type, stored, request=None, visitor=None, now=MONDAY_NOON, segment=SEGMENT):
    """The rule's verdict for this visitor; asserts that ``negate`` gives the opposite."""
    request = request or RequestFactory().get("/")
    visitor = visitor or VisitorProfile()
    verdicts = []
    for negate in (False, True):
        compiled = compile_rule(rule_type, {**stored, "negate": negate})
        assert not compiled.error, compiled.error
        context = SegmentSet(request, visitor, now=now).context(segment)
        verdicts.append(check_rule(compiled, context))
    assert verdicts[0] != verdicts[1], "negate must invert the verdict"
    return verdicts[0]


def request_with(path="/", user=None, cookies=None, **headers):
    request = RequestFactory().get(path, headers=headers)
    request.user = user or AnonymousUser()
    request.COOKIES.update(cookies or {})
    return request


# -- time ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "start, end, clock, expected",
    [
        ("09:00", "17:00", "09:00", True),  # start included
        ("09:00", "17:00", "16:59", True),
        ("09:00", "17:00", "17:00", False),  # end excluded
        ("09:00", "17:00", "08:59", False),
        ("22:00", "06:00", "23:30", True),  # wraps past midnight
        ("22:00", "06:00", "00:00", True),
        ("22:00", "06:00", "05:59", True),
        ("22:00", "06:00", "06:00", False),
        ("22:00", "06:00", "12:00", False),
    ],
)
def test_time_of_day(start, end, clock, expected):
    hour, minute = map(int, clock.split(":"))
    now = MONDAY_NOON.replace(hour=hour, minute=minute)
    assert judge("time_of_day", {"start": start, "end": end}, now=now) is expected


def test_time_of_day_reads_the_site_time_zone():
    # 23:30 UTC on a summer evening is 00:30 in London.
    utc_evening = datetime(2026, 7, 1, 23, 30, tzinfo=ZoneInfo("UTC"))
    assert judge("time_of_day", {"start": "00:00", "end": "01:00"}, now=utc_evening)


@pytest.mark.parametrize(
    "days, now, expected",
    [
        ([0], MONDAY_NOON, True),
        ([5, 6], MONDAY_NOON, False),
        ([6], MONDAY_NOON - timedelta(days=1), True),  # Sunday
        (["0", "2"], MONDAY_NOON, True),  # the editor's form sends strings
    ],
)
def test_day_of_week(days, now, expected):
    assert judge("day_of_week", {"days": days}, now=now) is expected


@pytest.mark.parametrize(
    "start, end, expected",
    [
        ("2026-11-01T00:00:00", "2026-12-01T00:00:00", True),
        ("2026-11-23T12:00:00", None, True),  # start included, open end
        (None, "2026-11-23T12:00:00", False),  # end excluded, open start
        ("2026-11-24T00:00:00", None, False),
        (None, "2026-11-30T00:00:00", True),
    ],
)
def test_date_range(start, end, expected):
    assert judge("date_range", {"start": start, "end": end}) is expected


# -- where the visit came from ---------------------------------------------------------------


@pytest.mark.parametrize(
    "match, value, referrer, expected",
    [
        ("domain", "moneyweek.com", "https://moneyweek.com/isa", True),
        ("domain", "moneyweek.com", "https://www.moneyweek.com/isa", True),  # subdomain
        ("domain", "www.moneyweek.com", "https://moneyweek.com/isa", True),
        ("domain", "moneyweek.com", "https://notmoneyweek.com/", False),
        ("domain", "moneyweek.com", "https://search.example/?q=moneyweek.com", False),
        ("contains", "ISA", "https://search.example/?q=best+isa", True),
        ("contains", "pension", "https://search.example/?q=best+isa", False),
        ("regex", r"^https://(www\.)?google\.", "https://www.google.co.uk/", True),
        ("regex", r"^https://(www\.)?google\.", "https://duckduckgo.com/", False),
        ("domain", "moneyweek.com", "", False),  # no external referrer
    ],
)
def test_referrer_reads_the_visit_referrer(match, value, referrer, expected):
    visitor = profile_with(referrer=referrer)
    assert judge("referrer", {"match": match, "value": value}, visitor=visitor) is expected


@pytest.mark.parametrize(
    "utm, expected",
    [
        ({"campaign": "campus"}, True),
        ({"campaign": "CAMPUS"}, True),  # case-insensitive
        ({"campaign": "campus-2027"}, False),
        ({"source": "campus"}, False),  # another parameter
        ({}, False),
    ],
)
def test_utm_compares_the_landing_campaign(utm, expected):
    visitor = profile_with(utm=utm)
    stored = {"parameter": "campaign", "value": "Campus"}
    assert judge("utm", stored, visitor=visitor) is expected


@pytest.mark.parametrize(
    "path, value, expected",
    [
        ("/?promo=spring", "spring", True),
        ("/?promo=autumn", "spring", False),
        ("/?promo=autumn&promo=spring", "spring", True),
        ("/?promo=", "", True),  # blank value: present is enough
        ("/?other=1", "", False),
    ],
)
def test_query_param(path, value, expected):
    request = request_with(path)
    assert judge("query_param", {"name": "promo", "value": value}, request=request) is expected


def test_landing_page():
    visitor = profile_with(landing_page=7)
    assert judge("landing_page", {"page": 7}, visitor=visitor)
    assert not judge("landing_page", {"page": 8}, visitor=visitor)


# -- the visitor's history -------------------------------------------------------------------

BOUNDARIES = [
    ("lt", 2, False, 1, True),
    ("lt", 2, False, 2, False),
    ("lte", 2, False, 2, True),
    ("lte", 2, False, 3, False),
    ("eq", 2, False, 2, True),
    ("eq", 2, False, 3, False),
    ("gte", 2, False, 2, True),
    ("gte", 2, False, 1, False),
    ("gt", 2, False, 2, False),
    ("gt", 2, False, 3, True),
    ("neq", 2, False, 2, False),
    ("neq", 2, False, 1, True),
]


@pytest.mark.parametrize("operator, count, _unused, actual, expected", BOUNDARIES)
def test_every_operator_at_its_boundary(operator, count, _unused, actual, expected):
    stored = {"operator": operator, "count": count}
    assert judge("pageviews", stored, visitor=profile_with(pageviews=actual)) is expected
    assert judge("visit_count", stored, visitor=profile_with(visits=actual)) is expected


def test_visited_page_counts_views_of_that_page():
    visitor = profile_with(page_views={7: 3, 9: 1})
    assert judge("visited_page", {"page": 7, "operator": "gte", "count": 3}, visitor=visitor)
    assert not judge("visited_page", {"page": 9, "operator": "gte", "count": 3}, visitor=visitor)
    assert not judge("visited_page", {"page": 5, "operator": "gte", "count": 1}, visitor=visitor)


@pytest.mark.parametrize("visits, expected", [(0, True), (1, True), (2, False)])
def test_new_visitor(visits, expected):
    assert judge("new_visitor", {}, visitor=profile_with(visits=visits)) is expected


# -- the device and the person ---------------------------------------------------------------


@pytest.mark.parametrize(
    "agent, device_type",
    [(IPHONE, "mobile"), (IPAD, "tablet"), (FIREFOX_WINDOWS, "desktop")],
)
def test_device_type_from_the_parsed_user_agent(agent, device_type):
    request = request_with(user_agent=agent)
    for candidate in ("mobile", "tablet", "desktop"):
        verdict = judge("device", {"device_type": candidate}, request=request)
        assert verdict is (candidate == device_type)


@pytest.mark.parametrize(
    "family, os, agent, expected",
    [
        ("firefox", "", FIREFOX_WINDOWS, True),
        ("Firefox", "windows", FIREFOX_WINDOWS, True),
        ("Firefox", "iOS", FIREFOX_WINDOWS, False),
        ("", "iOS", IPHONE, True),
        ("Safari", "", IPHONE, True),  # "Mobile Safari" contains "Safari"
        ("Chrome", "", IPHONE, False),
    ],
)
def test_browser_and_os_families(family, os, agent, expected):
    request = request_with(user_agent=agent)
    assert judge("browser", {"family": family, "os": os}, request=request) is expected


@pytest.mark.parametrize(
    "header, expected",
    [
        ("de-AT,de;q=0.9,en;q=0.5", True),  # de matches de-AT
        ("en-GB,en;q=0.9,de;q=0.8", False),  # only the preferred language counts
        ("en;q=0.5,de;q=0.9", True),  # by quality, not by order
        ("", False),
        ("*", False),
    ],
)
def test_language(header, expected):
    request = request_with(accept_language=header)
    assert judge("language", {"languages": ["de", "fr"]}, request=request) is expected


def test_language_with_a_region_does_not_match_another_region():
    request = request_with(accept_language="pt-PT")
    assert not judge("language", {"languages": ["pt-br"]}, request=request)


@pytest.mark.parametrize(
    "header, expected",
    [("gb", True), ("IE", True), ("DE", False), ("XX", False), ("", False), ("GBR", False)],
)
def test_country_from_the_trusted_header(header, expected):
    request = request_with(cf_ipcountry=header)
    with override_settings(WAGTAIL_SEGMENTS={"COUNTRY_HEADER": "CF-IPCountry"}):
        assert judge("country", {"countries": ["GB", "IE"]}, request=request) is expected


def test_country_header_is_ignored_unless_trusted():
    request = request_with(cf_ipcountry="GB")
    assert not judge("country", {"countries": ["GB"]}, request=request)


def test_logged_in(django_user_model, db):
    user = django_user_model.objects.create_user("ana")
    assert judge("logged_in", {}, request=request_with(user=user))
    assert not judge("logged_in", {}, request=request_with())


def test_user_group_reads_groups_once_per_request(django_user_model, db, django_assert_num_queries):
    user = django_user_model.objects.create_user("ana")
    user.groups.add(Group.objects.create(name="Private clients"))
    request = request_with(user=user)
    with django_assert_num_queries(1):
        assert judge("user_group", {"groups": ["Private clients", "Staff"]}, request=request)
        assert not judge("user_group", {"groups": ["Staff"]}, request=request)
    assert not judge("user_group", {"groups": ["Private clients"]}, request=request_with())


@pytest.mark.parametrize(
    "match, value, cookies, expected",
    [
        ("present", "", {"beta": ""}, True),
        ("present", "", {}, False),
        ("equals", "Gold", {"tier": "gold"}, True),
        ("equals", "gold", {"tier": "golden"}, False),
        ("contains", "old", {"tier": "golden"}, True),
        ("regex", r"^g.l", {"tier": "gold"}, True),
        ("regex", r"^s", {"tier": "gold"}, False),
        ("equals", "gold", {}, False),
    ],
)
def test_cookie(match, value, cookies, expected):
    name = "beta" if match == "present" else "tier"
    request = request_with(cookies=cookies)
    stored = {"name": name, "match": match, "value": value}
    assert judge("cookie", stored, request=request) is expected


# -- events, attributes, scores --------------------------------------------------------------


@pytest.mark.parametrize(
    "attributes, operator, value, expected",
    [
        ({"cart_total": 60}, "lt", "100", True),
        ({"cart_total": 120.5}, "lt", "100", False),
        ({"cart_total": 100}, "lt", "100", False),  # boundary
        ({"cart_total": 9}, "lt", "10", True),  # numbers, not text ("9" > "10")
        ({"cart_total": "60"}, "lt", "100", True),  # numeric text compares as a number
        ({"plan": "Premium"}, "eq", "premium", True),  # text, case-insensitive
        ({"plan": "basic"}, "neq", "premium", True),
        ({"has_checking_account": True}, "eq", "true", True),
        ({"has_checking_account": False}, "eq", "true", False),
    ],
)
def test_attribute(attributes, operator, value, expected):
    key = next(iter(attributes))
    visitor = profile_with(attributes=attributes)
    stored = {"key": key, "operator": operator, "value": value}
    assert judge("attribute", stored, visitor=visitor) is expected


def test_a_missing_attribute_never_matches_whatever_the_operator():
    for operator in ("lt", "lte", "eq", "gte", "gt", "neq"):
        stored = {"key": "cart_total", "operator": operator, "value": "100"}
        assert not judge("attribute", stored)


def test_event_count_ever_and_within_days():
    visitor = VisitorProfile()
    visitor.track_event("download", 2, MONDAY_NOON - timedelta(days=5))
    visitor.track_event("download", 1, MONDAY_NOON)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            "wagtail_segments.visitor.profile.unix",
            lambda moment=None: int((moment or MONDAY_NOON).timestamp()),
        )
        ever = {"event": "download", "operator": "gte", "count": 3}
        assert judge("event_count", ever, visitor=visitor)
        recent = {**ever, "within_days": 2}
        assert not judge("event_count", recent, visitor=visitor)
        assert judge("event_count", {**recent, "count": 1}, visitor=visitor)
        assert not judge("event_count", {**ever, "event": "signup", "count": 1}, visitor=visitor)


@pytest.fixture
def interests(db):
    for slug, group in [
        ("investing", "Persona"),
        ("saving", "Persona"),
        ("students", "Persona"),
        ("ready-to-open", "Journey stage"),
    ]:
        InterestFactory(name=slug.title(), slug=slug, group=group)


def scored(**scores):
    visitor = VisitorProfile()
    for slug, points in scores.items():
        visitor.add_score(slug.replace("_", "-"), points)
    return visitor


def test_interest_score_uses_decayed_scores(interests, time_machine):
    time_machine.move_to(MONDAY_NOON, tick=False)
    visitor = scored(investing=40)
    stored = {"interest": "investing", "operator": "gte", "score": 30}
    assert judge("interest_score", stored, visitor=visitor)
    time_machine.move_to(MONDAY_NOON + timedelta(days=30), tick=False)  # one half-life
    assert not judge("interest_score", stored, visitor=visitor)
    assert judge("interest_score", {**stored, "score": 20}, visitor=visitor)


@pytest.mark.parametrize(
    "scores, stored, expected",
    [
        ({"investing": 40, "saving": 38}, {}, True),
        ({"investing": 40, "saving": 38}, {"min_lead": 5}, False),  # not yet an investor
        ({"investing": 40, "saving": 30}, {"min_lead": 5}, True),
        ({"investing": 40}, {"min_score": 50}, False),
        ({"investing": 50}, {"min_score": 50}, True),
        ({"saving": 41, "investing": 40}, {}, False),
        ({}, {}, False),
        # Only the group's interests compete when a group is given.
        ({"investing": 20, "ready_to_open": 90}, {"group": "Persona"}, True),
        ({"investing": 20, "ready_to_open": 90}, {}, False),
    ],
)
def test_top_interest(interests, scores, stored, expected, time_machine):
    time_machine.move_to(MONDAY_NOON, tick=False)
    visitor = scored(**scores)
    assert judge("top_interest", {"interest": "investing", **stored}, visitor=visitor) is expected


def test_random_bucket_is_stable_and_close_to_its_percent():
    request = request_with()
    stored = {"percent": 30}
    visitors = [VisitorProfile(visitor_id=f"visitor-{number}") for number in range(10_000)]
    members = [judge("random_bucket", stored, request=request, visitor=v) for v in visitors]
    share = sum(members) / len(members) * 100
    assert 28 <= share <= 32
    again = [judge("random_bucket", stored, request=request, visitor=v) for v in visitors[:200]]
    assert again == members[:200]


def test_random_buckets_of_two_segments_are_independent():
    other = CompiledSegment(pk=2, slug="other", name="Other", match_all=True, rules=(), fields={})
    visitors = [VisitorProfile(visitor_id=f"visitor-{number}") for number in range(2000)]
    first = [judge("random_bucket", {"percent": 50}, visitor=v) for v in visitors]
    second = [judge("random_bucket", {"percent": 50}, visitor=v, segment=other) for v in visitors]
    agreement = sum(a == b for a, b in zip(first, second, strict=True)) / len(visitors)
    assert 0.45 <= agreement <= 0.55


@pytest.mark.parametrize("percent, expected", [(0, False), (100, True)])
def test_random_bucket_extremes(percent, expected):
    assert judge("random_bucket", {"percent": percent}) is expected


def test_manual_list_by_user_or_visitor_id(django_user_model, db):
    user = django_user_model.objects.create_user("ana")
    listed = CompiledSegment(
        pk=3,
        slug="listed",
        name="Listed",
        match_all=True,
        rules=(),
        fields={},
        manual_users=frozenset({user.pk}),
        manual_visitors=frozenset({"known-visitor"}),
    )
    known = VisitorProfile(visitor_id="known-visitor")
    assert judge("manual", {}, request=request_with(user=user), segment=listed)
    assert judge("manual", {}, request=request_with(), visitor=known, segment=listed)
    assert not judge("manual", {}, request=request_with(), segment=listed)


def test_any_of_is_true_when_one_nested_rule_is():
    stored = {
        "rules": [
            {"type": "utm", "value": {"parameter": "campaign", "value": "campus"}},
            {"type": "pageviews", "value": {"operator": "gte", "count": 5}},
        ]
    }
    assert judge("any_of", stored, visitor=profile_with(utm={"campaign": "campus"}))
    assert judge("any_of", stored, visitor=profile_with(pageviews=5))
    assert not judge("any_of", stored, visitor=profile_with(pageviews=4))


def test_any_of_honours_negate_inside():
    stored = {
        "rules": [{"type": "pageviews", "value": {"operator": "gte", "count": 5, "negate": True}}]
    }
    assert judge("any_of", stored, visitor=profile_with(pageviews=1))


# -- bad data: clear, field-specific errors --------------------------------------------------

INVALID = [
    ("time_of_day", {"start": "09:00", "end": "09:00"}, "end", "must differ"),
    ("time_of_day", {"start": "9 o'clock", "end": "17:00"}, "start", "HH:MM"),
    ("day_of_week", {"days": []}, "days", "at least one day"),
    ("day_of_week", {"days": [7]}, "days", "0 (Monday) to 6"),
    ("date_range", {"start": "2026-12-01T00:00", "end": "2026-12-01T00:00"}, "end", "after"),
    ("date_range", {"start": None, "end": None}, "start", "start, an end"),
    ("date_range", {"start": "soon"}, "start", "date and time"),
    ("referrer", {"match": "regex", "value": "(unclosed"}, "value", "regular expression"),
    ("referrer", {"match": "domain", "value": ""}, "value", "Enter what"),
    ("utm", {"parameter": "campaign", "value": ""}, "value", "Enter the value"),
    ("utm", {"parameter": "gclid", "value": "x"}, "parameter", "Choose"),
    ("query_param", {"name": ""}, "name", "parameter's name"),
    ("landing_page", {"page": None}, "page", "Choose a page"),
    ("pageviews", {"operator": "about", "count": 2}, "operator", "Choose one of"),
    ("pageviews", {"operator": "gte", "count": -1}, "count", "0 or more"),
    ("device", {"device_type": "fridge"}, "device_type", "mobile, tablet or desktop"),
    ("browser", {"family": "", "os": ""}, "family", "browser, an operating system"),
    ("language", {"languages": ["en", "not a code"]}, "languages", "language codes"),
    ("country", {"countries": ["GBR"]}, "countries", "two-letter"),
    ("user_group", {"groups": []}, "groups", "at least one group"),
    ("cookie", {"name": "tier", "match": "regex", "value": "[a-"}, "value", "regular expression"),
    ("attribute", {"key": "", "value": "1"}, "key", "attribute's key"),
    ("event_count", {"event": "", "operator": "gte", "count": 1}, "event", "event's name"),
    ("event_count", {"event": "x", "count": 1, "within_days": 0}, "within_days", "days"),
    ("interest_score", {"interest": "astrology"}, "interest", "Unknown interest"),
    ("top_interest", {"interest": "astrology"}, "interest", "Unknown interest"),
    ("top_interest", {"interest": "investing", "group": "Journey stage"}, "group", "not in"),
    ("top_interest", {"interest": "investing", "min_lead": -1}, "min_lead", "0 or more"),
    ("random_bucket", {"percent": 101}, "percent", "0 to 100"),
    ("random_bucket", {"percent": -1}, "percent", "0 to 100"),
    ("in_segment", {"segment": ""}, "segment", "Choose a segment"),
    ("any_of", {"rules": []}, "rules", "at least one rule"),
    ("any_of", {"rules": [{"type": "utm", "value": {"value": ""}}]}, "rules", "utm"),
]


@pytest.mark.parametrize("rule_type, stored, field, message", INVALID)
def test_stored_data_that_no_longer_validates_never_matches(
    interests, rule_type, stored, field, message
):
    for negate in (False, True):
        compiled = compile_rule(rule_type, {**stored, "negate": negate})
        assert message in compiled.error
        context = SegmentSet(request_with(), VisitorProfile()).context(SEGMENT)
        assert check_rule(compiled, context) is False


@pytest.mark.parametrize("rule_type, stored, field, message", INVALID)
def test_the_editor_sees_the_error_next_to_its_field(interests, rule_type, stored, field, message):
    block = registry.get(rule_type).build_block()
    value = block.to_python({**registry.get(rule_type).defaults(), **stored})
    with pytest.raises(blocks.StructBlockValidationError) as raised:
        block.clean(value)
    # The rule's message (or the field block's own, for a value the widget
    # cannot even hold), shown next to that field and no other.
    assert list(raised.value.block_errors) == [field], raised.value.block_errors


def test_every_catalogue_rule_is_registered():
    catalogue = {
        "time_of_day", "day_of_week", "date_range", "referrer", "utm", "query_param",
        "landing_page", "visited_page", "pageviews", "visit_count", "new_visitor", "device",
        "browser", "language", "country", "logged_in", "user_group", "cookie", "attribute",
        "event_count", "interest_score", "top_interest", "in_segment", "random_bucket",
        "manual", "any_of",
    }  # fmt: skip
    assert catalogue <= {rule.slug for rule in registry}


@pytest.fixture
def geoip_database(tmp_path):
    """A tiny GeoIP2 Country database: 81.2.69.0/24 in GB, 2.16.0.0/16 in DE."""
    from mmdb_writer import MMDBWriter
    from netaddr import IPSet

    writer = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="GeoIP2-Country")
    writer.insert_network(IPSet(["81.2.69.0/24"]), {"country": {"iso_code": "GB"}})
    writer.insert_network(IPSet(["2.16.0.0/16"]), {"country": {"iso_code": "DE"}})
    path = tmp_path / "country.mmdb"
    writer.to_db_file(str(path))
    return str(path)


@pytest.mark.parametrize(
    "address, header, expected",
    [
        ("81.2.69.160", "", True),
        ("2.16.1.1", "", False),
        ("10.0.0.1", "", False),  # not in the database
        ("not-an-ip", "", False),
        ("2.16.1.1", "GB", True),  # the trusted header wins
        ("81.2.69.160", "XX", True),  # a placeholder header falls back to GeoIP2
    ],
)
def test_country_from_geoip2(geoip_database, address, header, expected):
    request = request_with(cf_ipcountry=header)
    request.META["REMOTE_ADDR"] = address
    settings = {"COUNTRY_HEADER": "CF-IPCountry", "GEOIP_DATABASE": geoip_database}
    with override_settings(WAGTAIL_SEGMENTS=settings):
        assert judge("country", {"countries": ["GB"]}, request=request) is expected
