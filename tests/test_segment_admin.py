"""Segments and interests in the Wagtail admin."""

import pytest
from bs4 import BeautifulSoup
from django.urls import reverse
from wagtail.admin.telepath import JSContext
from wagtail.models import ReferenceIndex

from tests.factories import (
    GoalFactory,
    InterestFactory,
    PlacementFactory,
    SegmentFactory,
    segment_form,
)
from wagtail_segments.models import Interest, Segment
from wagtail_segments.rules import Rule, registry
from wagtail_segments.rules.compiled import describe_rules


def test_personalisation_menu_groups_segments_and_interests(admin_client):
    response = admin_client.get(reverse("wagtailadmin_home"))
    menu = response.content.decode()
    assert "Personalisation" in menu
    assert reverse("wagtail_segments_segments:list") in menu
    assert reverse("wagtail_segments_interests:list") in menu


def test_an_editor_creates_a_segment_with_several_rules(admin_client):
    response = admin_client.post(reverse("wagtail_segments_segments:add"), segment_form())
    assert response.status_code == 302, response.context["form"].errors
    segment = Segment.objects.get(slug="campus-students")
    assert [(rule.block_type, rule.value.get("negate")) for rule in segment.rules] == [
        ("utm", False),
        ("pageviews", True),
    ]
    assert segment.rules.raw_data[1]["value"]["count"] == 3
    listing = admin_client.get(reverse("wagtail_segments_segments:list")).content.decode()
    assert "Campus students" in listing
    assert "utm_campaign is “campus” and not page views ≥ 3" in listing


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"active_from": "2026-05-01 10:00", "active_until": "2026-05-01 10:00"}, "active_until"),
        ({"holdout_percent": "101"}, "holdout_percent"),
        ({"slug": ""}, "slug"),
    ],
)
def test_invalid_segments_are_refused_with_field_errors(admin_client, overrides, field):
    response = admin_client.post(
        reverse("wagtail_segments_segments:add"), segment_form(**overrides)
    )
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert not Segment.objects.exists()


def test_invalid_rule_values_point_at_their_field(admin_client):
    data = segment_form(rules=[("pageviews", {"operator": "gte", "count": "-1", "negate": ""})])
    response = admin_client.post(reverse("wagtail_segments_segments:add"), data)
    assert response.status_code == 200
    error = response.context["form"].errors["rules"].as_data()[0]
    assert "count" in error.block_errors[0].block_errors


def test_nested_segment_cycles_are_refused(admin_client):
    SegmentFactory(slug="a", rules=[("in_segment", {"segment": "b"})])
    data = segment_form(name="B", slug="b", rules=[("in_segment", {"segment": "a", "negate": ""})])
    response = admin_client.post(reverse("wagtail_segments_segments:add"), data)
    assert response.status_code == 200
    assert "b → a → b" in str(response.context["form"].errors["rules"])


def test_copying_a_segment(admin_client):
    segment = SegmentFactory(slug="busy", rules=[("pageviews", {"operator": "gte", "count": 5})])
    copy_url = reverse("wagtail_segments_segments:copy", args=[segment.pk])
    form = admin_client.get(copy_url).context["form"]
    assert form.initial["name"] == "Busy"
    data = segment_form(
        name="Busy copy",
        slug="busy-copy",
        rules=[("pageviews", {"operator": "gte", "count": "5", "negate": ""})],
    )
    assert admin_client.post(reverse("wagtail_segments_segments:add"), data).status_code == 302
    assert Segment.objects.get(slug="busy-copy").rules.raw_data[0]["value"]["count"] == 5


@pytest.fixture
def referenced_segment(db):
    students = SegmentFactory(slug="students", rules=[])
    parent = SegmentFactory(
        slug="student-investors",
        rules=[("in_segment", {"segment": "students"})],
    )
    ReferenceIndex.create_or_update_for_object(parent)
    return students


def test_usage_lists_segments_that_refer_to_it(admin_client, referenced_segment):
    usage_url = reverse("wagtail_segments_segments:usage", args=[referenced_segment.pk])
    assert "Student investors" in admin_client.get(usage_url).content.decode()


def test_deleting_a_segment_in_use_warns_with_the_usage(admin_client, referenced_segment):
    delete_url = reverse("wagtail_segments_segments:delete", args=[referenced_segment.pk])
    response = admin_client.get(delete_url)
    assert response.context["usage_count"] == 1
    assert "referenced" in response.content.decode().lower()


def test_the_slug_of_a_referenced_segment_cannot_change(admin_client, referenced_segment):
    edit_url = reverse("wagtail_segments_segments:edit", args=[referenced_segment.pk])
    data = segment_form(name="Students", slug="pupils", rules=[])
    response = admin_client.post(edit_url, data)
    assert response.status_code == 200
    assert "students" in str(response.context["form"].errors["slug"])
    referenced_segment.refresh_from_db()
    assert referenced_segment.slug == "students"


def test_an_unreferenced_slug_may_change(admin_client):
    segment = SegmentFactory(slug="students", rules=[])
    edit_url = reverse("wagtail_segments_segments:edit", args=[segment.pk])
    data = segment_form(name="Students", slug="pupils", rules=[])
    assert admin_client.post(edit_url, data).status_code == 302
    assert Segment.objects.get(pk=segment.pk).slug == "pupils"


def test_interest_admin(admin_client):
    data = {
        "name": "Investing",
        "slug": "investing",
        "group": "Persona",
        "points": "10",
        "page_tags": "stocks, funds",
        "referrer_domains": "",
        "utm_campaigns": "",
    }
    response = admin_client.post(reverse("wagtail_segments_interests:add"), data)
    assert response.status_code == 302
    assert str(Interest.objects.get()) == "Investing (Persona)"


# -- the segment editor -------------------------------------------------------------------------


def name_and_slug_inputs(admin_client, url):
    page = BeautifulSoup(admin_client.get(url).content, "html.parser")
    return page.select_one("input[name=name]"), page.select_one("input[name=slug]")


@pytest.mark.parametrize("model", [Segment, Interest])
def test_the_slug_fills_in_from_the_name_of_a_new_object_only(admin_client, model):
    namespace = f"wagtail_segments_{model._meta.verbose_name_plural}"
    name, slug = name_and_slug_inputs(admin_client, reverse(f"{namespace}:add"))
    # Wagtail's page title and slug behaviour: w-sync on the name, w-slug on the slug.
    assert "w-sync" in name["data-controller"].split()
    assert name["data-w-sync-target-value"] == "#id_slug"
    assert "keyup->w-sync#apply" in name["data-action"]
    assert slug["data-controller"] == "w-slug"
    assert not slug.has_attr("data-w-slug-allow-unicode-value")  # the models take ASCII slugs
    # Content refers to a saved object by its slug: renaming it leaves the slug alone.
    saved = model.objects.create(name="Savers", slug="savers")
    name, slug = name_and_slug_inputs(admin_client, reverse(f"{namespace}:edit", args=[saved.pk]))
    assert "w-sync#apply" not in name.get("data-action", "")


@pytest.fixture
def one_of_each(db):
    return {
        "segments": SegmentFactory(slug="savers"),
        "interests": InterestFactory(slug="saving"),
        "placements": PlacementFactory(name="Banner", slot="banner"),
        "goals": GoalFactory(event="brochure"),
    }


@pytest.mark.parametrize("screen", ["add", "edit"])
@pytest.mark.parametrize("snippets", ["segments", "interests", "placements", "goals"])
def test_every_add_and_edit_screen_has_one_h1(admin_client, one_of_each, snippets, screen):
    args = [one_of_each[snippets].pk] if screen == "edit" else []
    page = admin_client.get(reverse(f"wagtail_segments_{snippets}:{screen}", args=args))
    headings = BeautifulSoup(page.content, "html.parser").find_all("h1")
    assert len(headings) == 1  # axe's page-has-heading-one
    expected = "New:" if screen == "add" else "Editing:"
    assert headings[0].get_text().strip().startswith(expected)


def grouped_rules(stream_block):
    return [
        (str(heading), [b.name for b in found])
        for heading, found in stream_block.grouped_child_blocks()
    ]


def test_the_rule_chooser_groups_the_rules(db):
    groups = grouped_rules(registry.stream_block())
    assert [heading for heading, _ in groups] == [
        "Visit and source",
        "Device and place",
        "Behaviour",
        "Interests",
        "People",
        "Advanced",
        "This site's rules",
    ]
    assert dict(groups)["Device and place"] == ["device", "browser", "language", "country"]
    # The project's own rules come last, after every built-in one.
    assert {"loyalty_tier", "referral_code", "company_size"} == set(
        dict(groups)["This site's rules"]
    )
    assert sum(len(names) for _, names in groups[:-1]) == len(registry.builtin) == 26
    # The editor's script gets them so: the chooser shows one heading per group.
    packed = JSContext().pack(registry.stream_block())
    assert [str(heading) for heading, _ in packed["_args"][1]] == [h for h, _ in groups]
    # Rules nested in "any of" are offered the same way.
    nested = registry.get("any_of").fields[0][1]
    assert [heading for heading, _ in grouped_rules(nested)][:2] == [
        "Visit and source",
        "Device and place",
    ]


class StaffRule(Rule):
    slug = "staff"
    label = "Staff"
    group = "people"

    def matches(self, value, context):
        return False


class TierRule(Rule):
    slug = "tier"
    label = "Tier"
    group = "Loyalty"  # a heading of the project's own

    def matches(self, value, context):
        return False


def test_a_projects_rule_joins_the_group_it_names(db):
    with registry.register_temporarily(StaffRule), registry.register_temporarily(TierRule):
        groups = grouped_rules(registry.stream_block())
    assert dict(groups)["People"][-1] == "staff"
    assert [heading for heading, _ in groups][-2:] == ["Loyalty", "This site's rules"]
    assert dict(groups)["Loyalty"] == ["tier"]


@pytest.mark.parametrize(
    ("rule", "value", "summary"),
    [
        ("language", {"languages": ["de"]}, "Language is de"),
        ("country", {"countries": ["GB", "IE", "FR"]}, "Country is GB, IE or FR"),
        (
            "interest_score",
            {"interest": "saving", "operator": "gte", "score": 10.0},
            "saving score ≥ 10",
        ),
        (
            "interest_score",
            {"interest": "saving", "operator": "lt", "score": 2.5},
            "saving score < 2.5",
        ),
        (
            "top_interest",
            {"interest": "saving", "min_score": 5.0},
            "Top interest is saving, score ≥ 5",
        ),
        ("pageviews", {"operator": "gte", "count": 3}, "Page views ≥ 3"),
        ("utm", {"parameter": "campaign", "value": "campus"}, "utm_campaign is “campus”"),
        ("referrer", {"match": "domain", "value": "google.com"}, "Referrer domain is “google.com”"),
        ("referrer", {"match": "regex", "value": "^a"}, "Referrer matches “^a”"),
        ("query_param", {"name": "ref", "value": ""}, "Query parameter ref is present"),
        ("query_param", {"name": "ref", "value": "x"}, "Query parameter ref is “x”"),
        ("cookie", {"name": "tier", "match": "equals", "value": "gold"}, "Cookie tier is “gold”"),
        ("cookie", {"name": "tier", "match": "present"}, "Cookie tier is present"),
        ("device", {"device_type": "mobile"}, "Device is mobile"),
        ("browser", {"family": "Firefox", "os": "iOS"}, "Browser is “Firefox” on “iOS”"),
        ("browser", {"family": "", "os": "iOS"}, "Operating system is “iOS”"),
        ("user_group", {"groups": ["Staff", "Press"]}, "User group is “Staff” or “Press”"),
        ("day_of_week", {"days": [4, 0, "1"]}, "Day of the week is Monday, Tuesday or Friday"),
        ("time_of_day", {"start": "09:00", "end": "17:00"}, "Time of day is 09:00–17:00"),
        (
            "date_range",
            {"start": "2026-01-31T09:00:00", "end": None},
            "Date is from 2026-01-31 09:00",
        ),
        (
            "date_range",
            {"start": None, "end": "2026-02-01T00:00:00"},
            "Date is until 2026-02-01 00:00",
        ),
        (
            "event_count",
            {"event": "brochure", "operator": "gte", "count": 2, "within_days": 7},
            "“brochure” events in the last 7 days ≥ 2",
        ),
        ("random_bucket", {"percent": 50.0}, "Random bucket: 50 % of visitors"),
        ("in_segment", {"segment": "savers"}, "In segment savers"),
        ("manual", {}, "On the segment's imported member list"),
        (
            "any_of",
            {
                "rules": [
                    {"type": "new_visitor", "value": {}},
                    {"type": "language", "value": {"languages": ["de", "fr"]}},
                ]
            },
            "Any of: new visitor; language is de or fr",
        ),
        ("language", {"languages": ["de"], "negate": True}, "not language is de"),
    ],
)
def test_rule_summaries_read_alike(rule, value, summary):
    assert describe_rules([{"type": rule, "value": value}]) == [summary]


def test_the_listing_says_how_long_members_stay(admin_client):
    rules = [("language", {"languages": ["de"]}), ("country", {"countries": ["DE"]})]
    SegmentFactory(slug="german", rules=rules, sticky_days=30)
    SegmentFactory(slug="austrian", rules=rules[:1], sticky_days=1)
    listing = admin_client.get(reverse("wagtail_segments_segments:list")).content.decode()
    assert "Language is de and country is DE (sticky for 30 days)" in listing
    assert "Language is de (sticky for 1 day)" in listing
