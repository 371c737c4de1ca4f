"""Manual lists from code: the same all-or-nothing checks as the admin's CSV import."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.factories import SegmentFactory
from wagtail_segments.engine import SegmentSet
from wagtail_segments.import_export import MAX_MEMBERS, ImportProblems
from wagtail_segments.manual_lists import add_members, replace_members
from wagtail_segments.models import ManualMember
from wagtail_segments.visitor.offline import built_request
from wagtail_segments.visitor.profile import VisitorProfile

pytestmark = pytest.mark.django_db


@pytest.fixture
def vip(db):
    return SegmentFactory(name="VIP", slug="vip", rules=[("manual", {})])


@pytest.fixture
def ada(django_user_model):
    return django_user_model.objects.create_user("ada", "ada@example.com", "pw")


@pytest.fixture
def bo(django_user_model):
    return django_user_model.objects.create_user("bo", "bo@example.com", "pw")


def listed(segment):
    return sorted(
        (m.user.username if m.user_id else m.visitor_id)
        for m in ManualMember.objects.filter(segment=segment).select_related("user")
    )


def test_replace_with_users_usernames_emails_and_visitor_ids(vip, ada, bo, django_user_model):
    cy = django_user_model.objects.create_user("cy", "cy@example.com", "pw")
    count = replace_members(
        vip, users=[ada], usernames=["bo"], emails=["cy@example.com"], visitor_ids=["Xy3_k"]
    )
    assert count == 4
    assert listed(vip) == ["Xy3_k", "ada", "bo", "cy"]
    # The engine sees the new list at once: a user by account, a visitor by id.
    assert "vip" in SegmentSet(built_request(user=cy), VisitorProfile())
    assert "vip" in SegmentSet(built_request(), VisitorProfile(visitor_id="Xy3_k"))
    assert "vip" not in SegmentSet(built_request(), VisitorProfile(visitor_id="other"))
    assert replace_members("vip", visitor_ids=["only"]) == 1  # by slug; the rest is gone
    assert listed(vip) == ["only"]


def test_add_keeps_the_list_and_skips_who_is_on_it(vip, ada, bo):
    replace_members(vip, users=[ada], visitor_ids=["v1"])
    assert add_members(vip, emails=["ada@example.com", "bo@example.com"], visitor_ids=["v1"]) == 1
    assert add_members(vip, usernames=["bo", "bo"], visitor_ids=["v2", "v2"]) == 1
    assert listed(vip) == ["ada", "bo", "v1", "v2"]


def test_one_bad_value_changes_nothing_and_each_is_named(vip, ada):
    replace_members(vip, visitor_ids=["kept"])
    with pytest.raises(ImportProblems) as raised:
        add_members(
            vip,
            users=[ada, "ada"],
            usernames=["ghost"],
            emails=["nobody@example.com", "not-an-address"],
            visitor_ids=["x" * 65, "", "tab\there", 7],
        )
    assert raised.value.problems == [
        "users[1]: expected a saved User, got 'ada'.",
        "emails[1]: “not-an-address” is not an email address.",
        "visitor_ids[1]: no member given.",
        "visitor_ids[2]: a member cannot hold control characters.",
        "visitor_ids[3]: expected text, not int.",
    ]
    with pytest.raises(ImportProblems) as raised:
        add_members(vip, usernames=["ghost"], emails=["nobody@example.com"], visitor_ids=["x" * 65])
    assert raised.value.problems == [
        "usernames[0]: no user has the username “ghost”.",
        "emails[0]: no user has the email “nobody@example.com”.",
        f"visitor_ids[0]: “{'x' * 20}…” is too long for a visitor id.",
    ]
    assert listed(vip) == ["kept"]


def test_the_api_and_the_csv_import_answer_alike(vip, admin_client):
    """The same value, refused by both for the same reason (one check, not a copy)."""
    url = f"/admin/personalisation/segments/{vip.pk}/members/import/"
    upload = SimpleUploadedFile("m.csv", b"member,kind\nghost,user\n", "text/csv")
    page = admin_client.post(url, {"file": upload}).content.decode()
    assert "line 2: no user has the username “ghost”." in page
    with pytest.raises(ImportProblems) as raised:
        replace_members(vip, usernames=["ghost"])
    assert raised.value.problems == ["usernames[0]: no user has the username “ghost”."]


def test_unsaved_users_lists_of_one_text_and_unknown_segments_are_refused(vip, django_user_model):
    with pytest.raises(ImportProblems, match=r"users\[0\]: expected a saved User"):
        replace_members(vip, users=[django_user_model(username="draft")])
    with pytest.raises(ImportProblems, match="emails: expected a list, got str"):
        replace_members(vip, emails="ada@example.com")
    with pytest.raises(ImportProblems, match="no segment has the slug 'nope'"):
        replace_members("nope", visitor_ids=["v"])


def test_at_most_as_many_members_as_an_import(vip):
    with pytest.raises(ImportProblems, match=f"At most {MAX_MEMBERS:,} members"):
        replace_members(vip, visitor_ids=[f"v{n}" for n in range(MAX_MEMBERS + 1)])
    assert listed(vip) == []
