"""People in the admin: one person, privacy holds, links from users and segments, permissions.

The crowd of 200 visitors (listing, filters, members, exports) is in test_people_crowd.py.
"""

import csv
import io
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import Group, Permission
from django.core.cache import caches
from django.test import override_settings
from wagtail.models import ModelLogEntry

from tests.factories import InterestFactory, SegmentFactory, make_site_with_pages, visitor_client
from tests.people_screens import NOW, PEOPLE, STORES, keys, listed, make_segments
from wagtail_segments import engine
from wagtail_segments.models import PageInterest, Segment, StoredProfile
from wagtail_segments.spreadsheets import unescape_cell
from wagtail_segments.visitor.profile import VisitorProfile
from wagtail_segments.visitor.stores import DatabaseStore

pytestmark = pytest.mark.django_db

# -- one person -----------------------------------------------------------------------------


@pytest.fixture
def site(db):
    caches["default"].clear()
    engine.invalidate_definitions()
    pages = make_site_with_pages("savings", "investing", "students")
    investing = InterestFactory(slug="investing", utm_campaigns="isa")
    PageInterest.objects.create(page=pages["investing"], interest=investing, points=10)
    make_segments()
    return pages


def test_a_persons_page_explains_their_segments_as_their_own_request(site, admin_client):
    with override_settings(WAGTAIL_SEGMENTS=STORES), time_machine.travel(NOW, tick=False):
        visitor = visitor_client()
        visitor.get("/investing/?utm_campaign=isa")
        visitor.get("/savings/")
        segments = visitor.get("/students/").wsgi_request.segments
        key = segments.visitor.visitor_id
        response = admin_client.get(f"{PEOPLE}person/{key}/")
        expected = segments.explain()  # at the same moment
    assert response.status_code == 200
    assert response.context["explanations"] == expected
    assert [(e.slug, e.matched) for e in expected] == [
        ("browsers", True),
        ("campus", False),
        ("customers", False),
        ("investors", True),
    ]
    html = response.content.decode()
    assert key in html and "Investing" in html and "20.0" in html  # the score
    assert "campaign “isa”" in html  # its ledger


def test_a_persons_visits_page_views_and_campaigns_over_time(site, admin_client):
    with override_settings(WAGTAIL_SEGMENTS=STORES):
        visitor = visitor_client()
        with time_machine.travel(NOW - timedelta(days=3), tick=False):
            visitor.get("/savings/?utm_campaign=campus&utm_source=flyer")
            visitor.get("/students/")
            visitor.get("/investing/")
        with time_machine.travel(NOW, tick=False):
            visitor.get("/investing/?utm_campaign=isa", HTTP_REFERER="https://news.example/x")
        key = StoredProfile.objects.get().key
        response = admin_client.get(f"{PEOPLE}person/{key}/")
    visits = response.context["visits"]
    assert [(v.campaign, v.source, v.pageviews, v.landing_page) for v in visits] == [
        ("isa", "", 1, "Investing"),
        ("campus", "flyer", 3, "Savings"),
    ]
    assert visits[0].referrer_host == "news.example"
    html = response.content.decode()
    assert "Page views per visit" in html  # the chart of page views per visit
    assert "Students" in html  # the pages viewed


def test_cookie_profiles_keep_no_visit_log_or_memberships(site):
    from wagtail_segments.conf import segments_settings
    from wagtail_segments.visitor.stores import _unsign

    visitor = visitor_client()
    visitor.get("/investing/?utm_campaign=isa")
    visitor.get("/savings/")
    profile = VisitorProfile.from_data(
        _unsign(visitor.cookies[segments_settings.COOKIE_NAME].value)
    )
    assert profile.pageviews == 2
    assert profile.visit_log == [] and profile.memberships == {}
    assert "h" not in profile.to_data() and "m" not in profile.to_data()


def test_no_raw_ip_on_the_person_page_or_in_exports(site, admin_client):
    with override_settings(WAGTAIL_SEGMENTS=STORES):
        visitor_client().get("/savings/")
        row = StoredProfile.objects.get()
        profile = VisitorProfile.from_data(row.data)
        profile.set_attribute("last_ip", "203.0.113.7")
        profile.set_attribute("hops", ["2001:db8::1", "ok"])
        DatabaseStore().write(row.key, profile.to_data())
        SegmentFactory(slug="local", rules=[("attribute", {"key": "last_ip", "value": "x"})])
        page = admin_client.get(f"{PEOPLE}person/{row.key}/").content.decode()
        export = admin_client.get(PEOPLE, {"export": "csv"})
    assert "last_ip" in page and "[IP address]" in page
    assert "203.0.113" not in page and "2001:db8" not in page
    assert "203.0.113" not in b"".join(export.streaming_content).decode()


def test_exports_are_formula_safe(site, admin_client, django_user_model):
    user = django_user_model.objects.create_user("-2+3", "=cmd@example.com", "pw")
    with override_settings(WAGTAIL_SEGMENTS=STORES):
        visitor_client(user).get("/savings/")
        export = admin_client.get(f"{PEOPLE}members/customers/", {"export": "csv"})
    [heading, row] = csv.reader(io.StringIO(b"".join(export.streaming_content).decode()))
    assert row[:2] == ["'-2+3", "'=cmd@example.com"]


def test_an_erased_profile_leaves_every_list(site, admin_client, django_user_model):
    user = django_user_model.objects.create_user("sam", "sam@example.com", "pw")
    with override_settings(WAGTAIL_SEGMENTS={"PROFILE_STORE": "database", **STORES}):
        anonymous, customer = visitor_client(), visitor_client()
        anonymous.get("/savings/?utm_campaign=campus")
        customer.get("/savings/?utm_campaign=campus")  # anonymous first...
        customer.force_login(user)
        customer.get("/students/")  # ...then adopted by the user store
        assert StoredProfile.objects.count() == 3
        assert len(listed(admin_client.get(f"{PEOPLE}members/campus/"))) == 3
        customer.post("/personalisation/erase/")
        anonymous.post("/personalisation/erase/")
        assert StoredProfile.objects.count() == 0
        assert listed(admin_client.get(PEOPLE)) == []
        assert listed(admin_client.get(f"{PEOPLE}members/campus/")) == []
        export = admin_client.get(f"{PEOPLE}members/campus/", {"export": "csv"})
        assert len(b"".join(export.streaming_content).decode().splitlines()) == 1
        gone = admin_client.get(f"{PEOPLE}person/user:{user.pk}/")
        assert gone.status_code == 404 and "No profile is kept for sam" in gone.content.decode()
        assert admin_client.get(f"{PEOPLE}person/no-such-visitor/").status_code == 404


@pytest.mark.parametrize(
    "headers",
    [{"HTTP_SEC_GPC": "1"}, {"HTTP_DNT": "1"}],
    ids=["global-privacy-control", "do-not-track"],
)
def test_visitors_who_opt_out_are_nobody_here(site, admin_client, headers):
    with override_settings(WAGTAIL_SEGMENTS=STORES):
        visitor_client().get("/savings/?utm_campaign=campus", **headers)
        assert listed(admin_client.get(PEOPLE)) == []


def test_visitors_without_consent_are_nobody_here(site, admin_client):
    with override_settings(WAGTAIL_SEGMENTS={**STORES, "CONSENT_COOKIE": "consent"}):
        visitor_client().get("/savings/")
        assert listed(admin_client.get(PEOPLE)) == []
        consenting = visitor_client()
        consenting.cookies["consent"] = "yes"
        consenting.get("/savings/")
        assert len(listed(admin_client.get(PEOPLE))) == 1


def test_cookie_visitors_are_never_listed_users_are(site, admin_client, django_user_model):
    user = django_user_model.objects.create_user("sam", "sam@example.com", "pw")
    with override_settings(WAGTAIL_SEGMENTS={"USER_PROFILE_STORE": "database"}):
        visitor_client().get("/savings/")
        visitor_client(user).get("/savings/")
        response = admin_client.get(PEOPLE)
    assert keys(listed(response)) == {f"user:{user.pk}"}
    assert "Only logged-in users are listed" in response.content.decode()


@pytest.mark.parametrize("stores", [{}, {"PROFILE_STORE": "cache"}], ids=["cookie", "cache"])
def test_nobody_is_listed_where_profiles_cannot_be_listed(site, admin_client, stores):
    with override_settings(WAGTAIL_SEGMENTS=stores):
        visitor_client().get("/savings/")
        response = admin_client.get(PEOPLE)
    assert response.status_code == 200 and listed(response) == []
    assert "Nobody can be listed" in response.content.decode()


def test_a_users_profile_in_the_cache_is_reached_from_the_user_admin(
    site, admin_client, django_user_model
):
    user = django_user_model.objects.create_user("sam", "sam@example.com", "pw")
    with override_settings(WAGTAIL_SEGMENTS={"USER_PROFILE_STORE": "cache"}):
        visitor_client(user).get("/savings/?utm_campaign=campus")
        assert StoredProfile.objects.count() == 0
        edit = admin_client.get(f"/admin/users/edit/{user.pk}/").content.decode()
        assert f"{PEOPLE}person/user:{user.pk}/" in edit and "See their profile" in edit
        page = admin_client.get(f"{PEOPLE}person/user:{user.pk}/")
        assert page.status_code == 200
        assert [e.slug for e in page.context["explanations"] if e.matched] == [
            "campus",
            "customers",
        ]
        assert "Nobody can be listed" in admin_client.get(PEOPLE).content.decode()


def test_the_user_admin_links_each_user_to_their_profile(site, admin_client, django_user_model):
    user = django_user_model.objects.create_user("sam", "sam@example.com", "pw")
    with override_settings(WAGTAIL_SEGMENTS=STORES):
        listing = admin_client.get("/admin/users/").content.decode()
        assert f"{PEOPLE}person/user:{user.pk}/" in listing
        edit = admin_client.get(f"/admin/users/edit/{user.pk}/").content.decode()
        assert "See their profile" not in edit  # no profile yet
        visitor_client(user).get("/savings/")
        edit = admin_client.get(f"/admin/users/edit/{user.pk}/").content.decode()
        assert "See their profile" in edit and "Segments now: Customers." in edit
    with override_settings(WAGTAIL_SEGMENTS={}):
        listing = admin_client.get("/admin/users/").content.decode()
    assert f"{PEOPLE}person/user:{user.pk}/" not in listing  # no user store, no profile


def test_the_segment_listing_links_to_its_members(site, admin_client):
    segment = Segment.objects.get(slug="campus")
    with override_settings(WAGTAIL_SEGMENTS={}):  # nobody can be listed: no link
        html = admin_client.get("/admin/personalisation/segments/").content.decode()
        assert f"{PEOPLE}members/campus/" not in html
    with override_settings(WAGTAIL_SEGMENTS=STORES):
        html = admin_client.get("/admin/personalisation/segments/").content.decode()
        assert f"{PEOPLE}members/campus/" in html
        assert admin_client.get(f"{PEOPLE}members/{segment.slug}/").status_code == 200
    assert admin_client.get(f"{PEOPLE}members/no-such-segment/").status_code == 404


# -- the nightly export ----------------------------------------------------------------------


def test_the_export_command_writes_the_members_of_chosen_segments(
    site, admin_client, django_user_model, tmp_path
):
    from django.core.management import call_command

    user = django_user_model.objects.create_user("sam", "sam@example.com", "pw")
    with override_settings(WAGTAIL_SEGMENTS=STORES):
        visitor_client().get("/savings/?utm_campaign=campus")
        visitor_client().get("/investing/?utm_campaign=isa")
        visitor_client(user).get("/savings/?utm_campaign=campus")
        output = tmp_path / "members.csv"
        call_command("export_segment_members", "campus", "customers", "-o", str(output))
        screen = {
            slug: {p.visitor_id for p in listed(admin_client.get(f"{PEOPLE}members/{slug}/"))}
            for slug in ("campus", "customers")
        }
    rows = list(csv.DictReader(output.open(encoding="utf-8")))
    exported = {
        slug: {unescape_cell(r["visitor_id"]) for r in rows if r["segment"] == slug}
        for slug in screen
    }
    assert exported == screen
    assert [(r["segment"], r["username"], r["user_id"]) for r in rows if r["username"]] == [
        ("campus", "sam", str(user.pk)),
        ("customers", "sam", str(user.pk)),
    ]
    logged = ModelLogEntry.objects.filter(action="wagtail_segments.export_people")
    assert sorted((e.label, e.data["rows"], e.user_id) for e in logged) == [
        ("Campus", 2, None),
        ("Customers", 1, None),
    ]


def test_the_export_command_says_what_is_wrong(site):
    from django.core.management import CommandError, call_command

    with override_settings(WAGTAIL_SEGMENTS=STORES):
        with pytest.raises(CommandError, match="by slug, or give --all"):
            call_command("export_segment_members")
        with pytest.raises(CommandError, match="No segment with the slug.*: ghosts"):
            call_command("export_segment_members", "campus", "ghosts")
    with override_settings(WAGTAIL_SEGMENTS={}), pytest.raises(CommandError, match="nobody can"):
        call_command("export_segment_members", "--all")


# -- permissions ---------------------------------------------------------------------------


@pytest.fixture
def segment_viewer(django_user_model):
    """May use the admin and view segments, but not people."""
    user = django_user_model.objects.create_user("writer", "w@example.com", "pw")
    group = Group.objects.create(name="Segment viewers")
    group.permissions.add(
        Permission.objects.get(codename="access_admin"),
        Permission.objects.get(codename="view_segment"),
    )
    user.groups.add(group)
    return user


def people_urls(key):
    return [
        PEOPLE,
        f"{PEOPLE}results/",
        f"{PEOPLE}?export=csv",
        f"{PEOPLE}?export=xlsx&segment=campus",
        f"{PEOPLE}person/{key}/",
        f"{PEOPLE}members/campus/",
        f"{PEOPLE}members/campus/results/",
        f"{PEOPLE}members/campus/?export=csv",
        f"{PEOPLE}members/campus/?export=xlsx",
    ]


def test_without_view_people_every_screen_and_export_is_forbidden(site, client, segment_viewer):
    with override_settings(WAGTAIL_SEGMENTS=STORES):
        visitor_client().get("/savings/?utm_campaign=campus")
        key = StoredProfile.objects.get().key
        client.force_login(segment_viewer)
        for url in people_urls(key):
            response = client.get(url)
            assert response.status_code == 403, url
            assert "Can view people and export segment members" in response.content.decode()
        assert not ModelLogEntry.objects.filter(action="wagtail_segments.export_people").exists()
        segments = client.get("/admin/personalisation/segments/").content.decode()
        assert f"{PEOPLE}members/" not in segments
        assert PEOPLE not in client.get("/admin/").content.decode()  # not in the menu
        segment_viewer.groups.get().permissions.add(Permission.objects.get(codename="view_people"))
        for url in people_urls(key):
            assert client.get(url).status_code == 200, url
        assert PEOPLE in client.get("/admin/").content.decode()


def test_the_permission_is_offered_in_wagtails_group_editor(admin_client):
    group = Group.objects.create(name="Marketing")
    html = admin_client.get(f"/admin/groups/edit/{group.pk}/").content.decode()
    assert "Can view people and export segment members" in html
