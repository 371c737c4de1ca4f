"""Segments as JSON between sites, and member lists of manual segments."""

import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from tests.factories import SegmentFactory
from wagtail_segments.import_export import ImportProblems, export_definitions, import_definitions
from wagtail_segments.models import Interest, ManualMember, Segment


@pytest.fixture
def exported(demo_site):
    return json.loads(json.dumps(export_definitions(Segment.objects.all()), default=str))


def test_an_export_imports_into_an_empty_site_unchanged(exported):
    before = {
        s.slug: (s.name, s.match, s.holdout_percent, s.rules.raw_data)
        for s in Segment.objects.all()
    }
    Segment.objects.all().delete()
    Interest.objects.all().delete()
    assert import_definitions(exported) == (4, 0)
    after = {
        s.slug: (s.name, s.match, s.holdout_percent, s.rules.raw_data)
        for s in Segment.objects.all()
    }
    assert [v[:3] for v in after.values()] == [v[:3] for v in before.values()]
    assert {slug: [(r["type"], r["value"]) for r in v[3]] for slug, v in after.items()} == {
        slug: [(r["type"], r["value"]) for r in v[3]] for slug, v in before.items()
    }
    assert import_definitions(exported) == (0, 4)  # again: updated, not duplicated


def test_a_malformed_import_changes_nothing_and_names_each_problem(exported):
    segments = exported["segments"]
    rules = [len(segment["rules"]) for segment in segments]  # where each new rule lands
    segments[0]["rules"].append({"type": "utm", "value": {"parameter": "colour"}})
    segments[1]["rules"].append({"type": "teleport", "value": {}})
    segments[2]["holdout_percent"] = 250
    segments[3]["rules"].append({"type": "in_segment", "value": {"segment": "ghosts"}})
    exported["segments"].append({"name": "New", "slug": "new one", "surprise": True})
    exported["interests"][0]["slug"] = "Not a slug!"
    snapshot = list(Segment.objects.order_by("pk").values())
    with pytest.raises(ImportProblems) as raised:
        import_definitions(exported)
    problems = "\n".join(raised.value.problems)
    assert f"segments[0].rules[{rules[0]}].value.parameter: Choose source" in problems
    assert f"segments[1].rules[{rules[1]}]: no rule 'teleport' is registered" in problems
    assert "segments[2].holdout_percent:" in problems
    assert f"segments[3].rules[{rules[3]}]: no segment “ghosts”" in problems
    assert "segments[4]: unknown field(s) surprise." in problems
    assert "segments[4].slug:" in problems
    assert "interests[0].slug:" in problems
    assert list(Segment.objects.order_by("pk").values()) == snapshot


def test_not_json_or_not_ours_is_refused(exported):
    with pytest.raises(ImportProblems, match="format"):
        import_definitions({"segments": []})
    with pytest.raises(ImportProblems, match="format"):
        import_definitions([1, 2])


def test_import_refuses_segments_that_would_contain_each_other(exported):
    loop = {"type": "in_segment", "value": {"segment": "investors"}}
    back = {"type": "in_segment", "value": {"segment": "college-students"}}
    for item in exported["segments"]:
        if item["slug"] == "college-students":
            item["rules"] = [loop]
        if item["slug"] == "investors":
            item["rules"] = [back]
    names = list(Segment.objects.values_list("rules", flat=True))
    with pytest.raises(ImportProblems, match="contain each other"):
        import_definitions(exported)
    assert list(Segment.objects.values_list("rules", flat=True)) == names


def test_the_commands_round_trip_and_report_problems(exported, tmp_path):
    path = tmp_path / "segments.json"
    call_command("export_segments", "--output", str(path))
    out = io.StringIO()
    call_command("import_segments", str(path), stdout=out)
    assert "0 segments created, 4 updated." in out.getvalue()
    with pytest.raises(CommandError, match="No segment with the slug"):
        call_command("export_segments", "nobody")
    path.write_text("{not json")
    with pytest.raises(CommandError, match="segments.json"):
        call_command("import_segments", str(path))


def test_the_admin_imports_and_exports(exported, admin_client):
    response = admin_client.get("/admin/personalisation/segments/export/")
    assert json.loads(response.content)["format"] == "wagtail_segments/1"
    bad = dict(exported, segments=[{"slug": "x"}])
    upload = SimpleUploadedFile("s.json", json.dumps(bad).encode(), "application/json")
    page = admin_client.post("/admin/personalisation/segments/import/", {"file": upload})
    assert page.status_code == 200
    assert "Nothing was imported" in page.content.decode()
    assert "segments[0].name" in page.content.decode()
    good = SimpleUploadedFile("s.json", json.dumps(exported).encode(), "application/json")
    done = admin_client.post("/admin/personalisation/segments/import/", {"file": good})
    assert done.status_code == 302


def test_manual_members_from_csv_and_back(demo_site, admin_client, django_user_model):
    django_user_model.objects.create_user("ada", "ada@example.com", "pw")
    segment = SegmentFactory(name="VIP", slug="vip", rules=[("manual", {})])
    csv_text = "member\nada\nada@example.com\nvisitor-123\n"
    upload = SimpleUploadedFile("m.csv", csv_text.encode(), "text/csv")
    url = f"/admin/personalisation/segments/{segment.pk}/members/import/"
    assert admin_client.post(url, {"file": upload}).status_code == 302
    assert ManualMember.objects.filter(segment=segment).count() == 3
    exported = admin_client.get(f"/admin/personalisation/segments/{segment.pk}/members/export/")
    assert exported.content.decode().splitlines() == [
        "member,kind",
        "ada,user",
        "ada,user",
        "visitor-123,visitor",
    ]
    wrong = SimpleUploadedFile("m.csv", b"nobody@example.com\n", "text/csv")
    page = admin_client.post(url, {"file": wrong})
    assert "line 1: no user has the email" in page.content.decode()
    assert ManualMember.objects.filter(segment=segment).count() == 3  # unchanged
