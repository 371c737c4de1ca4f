"""Segments written in code, in the stored shapes docs/reference/rules.md documents.

Pages by id (or as pages), ``any_of`` as ``{"rules": [...]}`` or as a plain
list of rules; each in the ``(type, value)`` form and in the stored
``{"type": ..., "value": ...}`` form. Each must match through a real request
and open in the segment editor.
"""

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse

from tests.factories import BROWSER_UA, SegmentFactory
from wagtail_segments.fields import stored_rules
from wagtail_segments.models import Segment

CAMPUS = {"type": "utm", "value": {"parameter": "campaign", "value": "campus"}}
STUDENT = {"type": "query_param", "value": {"name": "who", "value": "student"}}


def written(style, block_type, value):
    return (block_type, value) if style == "tuple" else {"type": block_type, "value": value}


def segments_seen(client, path):
    response = client.get(path)
    assert response.status_code == 200
    return response.content.decode().split('id="segments">')[1].split("</p>")[0]


def fresh_visitor():
    return Client(HTTP_USER_AGENT=BROWSER_UA)


def opens_in_the_editor(admin_client, segment, *shown):
    response = admin_client.get(reverse("wagtail_segments_segments:edit", args=[segment.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    return all(text in html for text in shown)


@pytest.mark.parametrize(
    ("style", "as_page"),
    [("tuple", False), ("dict", False), ("tuple", True)],
    ids=["pair, by id", "stored form, by id", "pair, as a page"],
)
def test_a_landing_page_given_in_code_matches(visitor, pages, admin_client, style, as_page):
    savings = pages["savings"]
    segment = SegmentFactory(
        slug="savers",
        rules=[written(style, "landing_page", {"page": savings if as_page else savings.pk})],
    )
    segment.refresh_from_db()
    assert stored_rules(segment.rules)[0]["value"]["page"] == savings.pk
    visitor.get("/savings/")
    assert "[savers]" in segments_seen(visitor, "/investing/")
    elsewhere = fresh_visitor()
    elsewhere.get("/investing/")
    assert "[savers]" not in segments_seen(elsewhere, "/savings/")
    assert opens_in_the_editor(admin_client, segment, "Savings")
    listing = admin_client.get(reverse("wagtail_segments_segments:list")).content.decode()
    assert "landing page is “savings”" in listing.lower()


@pytest.mark.parametrize("style", ["tuple", "dict"], ids=["pair", "stored form"])
def test_a_visited_page_given_by_id_in_code_matches(visitor, pages, admin_client, style):
    rule = {"page": pages["savings"].pk, "operator": "gte", "count": 2}
    segment = SegmentFactory(slug="keen-savers", rules=[written(style, "visited_page", rule)])
    assert "[keen-savers]" not in segments_seen(visitor, "/savings/")
    assert "[keen-savers]" not in segments_seen(visitor, "/investing/")
    assert "[keen-savers]" in segments_seen(visitor, "/savings/")
    assert opens_in_the_editor(admin_client, segment, "Savings")


def test_a_page_that_is_neither_a_page_nor_an_id_is_refused_with_the_field_named(pages):
    refused = pytest.raises(TypeError, match="page: give a page or its id, not 'savings'")
    with refused, transaction.atomic():
        SegmentFactory(slug="savers", rules=[("landing_page", {"page": "savings"})])
    assert not Segment.objects.exists()


PAIRS = [(CAMPUS["type"], CAMPUS["value"]), (STUDENT["type"], STUDENT["value"])]


@pytest.mark.parametrize(
    ("style", "any_of"),
    [
        ("tuple", {"rules": [CAMPUS, STUDENT]}),
        ("tuple", [CAMPUS, STUDENT]),
        ("tuple", PAIRS),
        ("tuple", {"rules": PAIRS}),
        ("dict", {"rules": [CAMPUS, STUDENT]}),
        ("dict", [CAMPUS, STUDENT]),
    ],
    ids=[
        "pair, stored",
        "pair, plain list",
        "pair, plain list of pairs",
        "pair, stored with pairs",
        "stored form, stored",
        "stored form, plain list",
    ],
)
def test_any_of_given_in_code_matches(visitor, pages, admin_client, style, any_of):
    segment = SegmentFactory(slug="campus", rules=[written(style, "any_of", any_of)])
    assert "[campus]" in segments_seen(visitor, "/savings/?who=student")
    assert "[campus]" in segments_seen(fresh_visitor(), "/savings/?utm_campaign=campus")
    assert "[campus]" not in segments_seen(fresh_visitor(), "/savings/?who=teacher")
    # The editor shows both nested rules, so saving it keeps them.
    assert opens_in_the_editor(admin_client, segment, "student", "campus")
    listing = admin_client.get(reverse("wagtail_segments_segments:list")).content.decode()
    assert "any of: utm_campaign is “campus”; query parameter who is “student”" in listing.lower()


def test_a_rule_stored_without_a_value_takes_its_defaults(visitor, pages, admin_client):
    segment = SegmentFactory(slug="newcomers", rules=[{"type": "new_visitor", "value": None}])
    assert "[newcomers]" in segments_seen(visitor, "/savings/")
    assert opens_in_the_editor(admin_client, segment, "Newcomers")
