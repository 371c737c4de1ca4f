"""People of a crowd: 200 visitors whose profiles are made by real requests.

The database store keeps everyone's profile and the user store the logged-in
visitors'; what the engine judged on each visitor's own last request is what
the admin's listing, filters, members and exports must show.
"""

import csv
import io
from datetime import timedelta

import pytest
import time_machine
from django.core.cache import caches
from django.test import override_settings
from wagtail.models import ModelLogEntry

from tests.factories import InterestFactory, make_site_with_pages, visitor_client
from tests.people_screens import NOW, PEOPLE, SEGMENTS, STORES, keys, listed, make_segments
from wagtail_segments import engine
from wagtail_segments.models import PageInterest, Segment, StoredProfile
from wagtail_segments.spreadsheets import unescape_cell

pytestmark = pytest.mark.django_db

JOURNEYS = [
    ["/savings/?utm_campaign=campus&utm_source=flyer", "/students/"],
    ["/investing/", "/"],
    ["/", "/savings/", "/investing/"],
    ["/investing/?utm_campaign=isa"],
]


@pytest.fixture(scope="module")
def crowd(django_db_blocker, migrated_database):
    """200 visitors, 1 in 10 logged in, over the last 5 days: what the engine judged of each."""
    from django.contrib.auth import get_user_model

    with django_db_blocker.unblock(), override_settings(WAGTAIL_SEGMENTS=STORES):
        caches["default"].clear()
        pages = make_site_with_pages("savings", "investing", "students")
        investing = InterestFactory(slug="investing", points=10, utm_campaigns="isa")
        PageInterest.objects.create(page=pages["investing"], interest=investing, points=10)
        make_segments()
        seen = {}
        for number in range(200):
            user = None
            if number % 10 == 5:
                user = get_user_model().objects.create_user(
                    f"customer{number}", f"customer{number}@example.com", "pw"
                )
            client = visitor_client(user)
            moment = NOW - timedelta(days=number % 5, minutes=number)
            with time_machine.travel(moment, tick=False):
                for path in JOURNEYS[number % 4]:
                    response = client.get(path)
                    assert response.status_code == 200
                segments = response.wsgi_request.segments
                key = f"user:{user.pk}" if user else segments.visitor.visitor_id
                seen[key] = {
                    "number": number,
                    "members": {slug for slug, *_ in SEGMENTS if segments.is_member(slug)},
                    "held_out": segments.is_held_out("investors"),
                    "last_seen": moment,
                }
        yield seen
    migrated_database()  # what this module committed is gone for the next one
    caches["default"].clear()
    engine.invalidate_definitions()


def test_the_crowd_is_made_of_200_stored_profiles(crowd):
    assert StoredProfile.objects.count() == 200 == len(crowd)
    assert sum(key.startswith("user:") for key in crowd) == 20


def test_people_lists_everyone_a_page_at_a_time(crowd, admin_client):
    response = admin_client.get(PEOPLE)
    assert response.status_code == 200
    assert response.context["items_count"] == 200
    shown = response.context["object_list"]
    assert len(shown) == 50
    html = response.content.decode()
    assert "customer195" in html  # the most recently seen first: a user by name
    assert shown[0].last_seen >= shown[-1].last_seen
    assert keys(listed(response)) == set(crowd)


def test_people_filtered_by_interest(crowd, admin_client):
    response = admin_client.get(PEOPLE, {"interest": "investing"})
    expected = {key for key, seen in crowd.items() if seen["number"] % 4 in (1, 2, 3)}
    assert keys(listed(response)) == expected
    assert response.context["items_count"] == 150


def test_people_filtered_by_last_seen(crowd, admin_client):
    day = (NOW - timedelta(days=2)).date()
    response = admin_client.get(
        PEOPLE, {"last_seen_from": day.isoformat(), "last_seen_to": day.isoformat()}
    )
    expected = {key for key, seen in crowd.items() if seen["last_seen"].date() == day}
    assert len(expected) == 40
    assert keys(listed(response)) == expected


def test_people_searched_by_user_and_by_visitor_id(crowd, admin_client, django_user_model):
    user = django_user_model.objects.get(username="customer115")
    assert keys(listed(admin_client.get(PEOPLE, {"q": "customer115@exa"}))) == {f"user:{user.pk}"}
    visitor = next(key for key in crowd if not key.startswith("user:"))
    assert keys(listed(admin_client.get(PEOPLE, {"q": visitor}))) == {visitor}
    assert listed(admin_client.get(PEOPLE, {"q": "nobody-at-all"})) == []


@pytest.mark.parametrize("slug", [slug for slug, *_ in SEGMENTS])
def test_people_filtered_by_segment_are_those_the_engine_judged_members(crowd, admin_client, slug):
    expected = {key for key, seen in crowd.items() if slug in seen["members"]}
    assert expected  # every segment has members, and...
    assert len(expected) < 200  # ...non-members
    response = admin_client.get(PEOPLE, {"segment": slug})
    assert keys(listed(response)) == expected


def test_a_segments_members_with_their_holdout(crowd, admin_client):
    response = admin_client.get(f"{PEOPLE}members/investors/")
    assert response.status_code == 200
    members = listed(response)
    expected = {key for key, seen in crowd.items() if "investors" in seen["members"]}
    assert keys(members) == expected
    assert {m.key: m.held_out for m in members} == {k: crowd[k]["held_out"] for k in expected}
    assert 0 < sum(m.held_out for m in members) < len(members)
    html = response.content.decode()
    assert "Members of “Investors”" in html
    assert "judged from their stored profiles without a request" in html


def screen_rows(admin_client, url):
    """The rows the members screen shows, page after page, as the CSV would write them."""
    rows, page = [], 1
    while True:
        response = admin_client.get(url, {"p": page})
        for person in response.context["object_list"]:
            assert person.label in response.content.decode()
            rows.append([person.username, person.visitor_id, str(person.held_out)])
        if not response.context["page_obj"].has_next():
            return rows
        page += 1


def test_the_members_csv_is_the_screen_and_is_logged(crowd, admin_client):
    url = f"{PEOPLE}members/investors/"
    segment = Segment.objects.get(slug="investors")
    response = admin_client.get(url, {"export": "csv"})
    assert response.status_code == 200
    table = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    header, lines = table[0], table[1:]
    assert header[:3] == ["User", "Email", "Visitor id"] and header[-1] == "Held out"
    # Formula-safe: a visitor id starting with "-" is written "'-…" (unescape_cell reads it).
    exported = [[unescape_cell(line[0]), unescape_cell(line[2]), line[-1]] for line in lines]
    assert exported == screen_rows(admin_client, url)
    assert len(exported) > 50  # more than one page of the screen
    [entry] = ModelLogEntry.objects.filter(action="wagtail_segments.export_people")
    assert entry.object_id == str(segment.pk) and entry.user.username == "admin"
    assert entry.data["rows"] == len(lines) and entry.data["format"] == "csv"
    assert entry.message == f"Exported {len(lines)} members of “investors” (CSV)"


def test_the_people_xlsx_export_is_logged_on_the_user(crowd, admin_client):
    from openpyxl import load_workbook

    response = admin_client.get(PEOPLE, {"export": "xlsx", "interest": "investing"})
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    assert sheet.max_row == 151  # the heading and 150 people
    [entry] = ModelLogEntry.objects.filter(action="wagtail_segments.export_people")
    assert entry.content_type.model == "user" and entry.data["filters"] == {"interest": "investing"}


def test_members_judged_per_screen_are_capped(crowd, admin_client, monkeypatch):
    from wagtail_segments.admin import people as people_views

    monkeypatch.setattr(people_views, "MAX_JUDGED", 20)
    response = admin_client.get(f"{PEOPLE}members/campus/")
    assert len(listed(response)) == 5  # 1 in 4 of the 20 seen last
    assert "Only the 20 profiles saved most recently were judged" in response.content.decode()
