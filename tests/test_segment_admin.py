"""Segments and interests in the Wagtail admin."""

import pytest
from django.urls import reverse
from wagtail.models import ReferenceIndex

from tests.factories import segment_form
from wagtail_segments.models import Interest, Segment


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
    Segment.objects.create(name="A", slug="a", rules=[("in_segment", {"segment": "b"})])
    data = segment_form(name="B", slug="b", rules=[("in_segment", {"segment": "a", "negate": ""})])
    response = admin_client.post(reverse("wagtail_segments_segments:add"), data)
    assert response.status_code == 200
    assert "b → a → b" in str(response.context["form"].errors["rules"])


def test_copying_a_segment(admin_client):
    segment = Segment.objects.create(
        name="Busy", slug="busy", rules=[("pageviews", {"operator": "gte", "count": 5})]
    )
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
    students = Segment.objects.create(name="Students", slug="students", rules=[])
    parent = Segment.objects.create(
        name="Student investors",
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
    segment = Segment.objects.create(name="Students", slug="students", rules=[])
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
