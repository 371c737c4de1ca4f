"""The segment tester in the admin."""

import pytest

from tests.factories import SegmentFactory
from wagtail_segments.conf import segments_settings

URL = "/admin/personalisation/tester/"


@pytest.fixture
def tester(client, demo_site, editor):  # noqa: F811
    client.force_login(editor)
    client.defaults["HTTP_HOST"] = "localhost"
    return client


def test_a_described_visitor_is_judged_rule_by_rule_and_sees_their_page(tester):
    response = tester.get(
        URL,
        {
            "url": "/?utm_campaign=campus",
            "device": "mobile",
            "country": "gb",
            "visits": "3",
            "scores": "investing=25",
            "attributes": "cart_total=40",
            "events": "brochure-download=2",
        },
    )
    assert response.status_code == 200
    verdicts = {e.slug: e.matched for e in response.context["explanations"]}
    assert verdicts == {
        "college-students": True,
        "investors": True,
        "checking-prospects": True,
        "small-cart": True,
    }
    html = response.content.decode()
    assert "investing score ≥ 20" in html and "this visitor: 25.0" in html
    # The page, rendered for that visitor: the first matching variant of the hero.
    assert "Welcome, campus newcomer" in response.context["page_html"]
    assert 'sandbox srcdoc="' in html  # shown in a sandboxed frame, escaped
    # Nothing was recorded for anyone.
    assert segments_settings.COOKIE_NAME not in response.cookies


def test_time_and_language_are_part_of_the_description(tester):
    base = {"url": "/", "device": "desktop", "visits": "1"}
    response = tester.get(URL, {**base, "moment": "2026-06-01T09:30", "language": "fr-CH"})
    moment = response.context["moment"]
    assert (moment.hour, moment.minute) == (9, 30)
    assert "Segments at 1 Jun 2026, 09:30" in response.content.decode()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("url", "https://evil.example/", "starting with a single /"),
        ("scores", "investing", "Line 1: write name=value."),
        ("scores", "investing=lots", "“lots” is not a number."),
        ("events", "signup=0", "a count is a whole number"),
        ("events", f"{'e' * 41}=1", "An event name must be text of 1 to 40 characters."),
        ("scores", f"{'i' * 101}=5", "An interest slug must be text of 1 to 100 characters."),
        ("attributes", "plan=gold", "is not JSON"),
        ("country", "GBR", "Enter a valid value"),
    ],
)
def test_bad_descriptions_get_clear_errors(tester, field, value, message):
    data = {"url": "/", "device": "desktop", "visits": "1", field: value}
    response = tester.get(URL, data)
    assert response.status_code == 200
    assert "explanations" not in response.context
    assert message in str(response.context["form"].errors[field])


def test_a_missing_page_is_said_so(tester):
    response = tester.get(URL, {"url": "/nowhere/", "device": "desktop", "visits": "1"})
    assert response.context["page_html"] is None
    assert "No live page at that address" in response.content.decode()


def test_only_users_who_may_view_segments_use_the_tester(client, demo_site, admin_only):  # noqa: F811
    client.force_login(admin_only)
    assert client.get(URL).status_code in (302, 403)
    home = client.get("/admin/").content.decode()
    assert "Segment tester" not in home


@pytest.fixture
def half_held_out():
    """A segment everyone belongs to, with half its members held out."""
    from wagtail_segments import engine

    SegmentFactory(slug="everyone", holdout_percent=50, rules=[("pageviews", {"count": 0})])
    engine.invalidate_definitions()


def verdict(response):
    (explanation,) = [e for e in response.context["explanations"] if e.slug == "everyone"]
    return explanation.matched, explanation.held_out


def test_the_same_description_always_gets_the_same_holdout_draw(tester, half_held_out):
    base = {"url": "/", "device": "desktop", "visits": "1"}
    # Each id draws its own place in the holdout; the same id the same place, every time.
    draws = {
        visitor_id: {verdict(tester.get(URL, {**base, "visitor_id": visitor_id})) for _ in "ab"}
        for visitor_id in ("", *(f"visitor-{n}" for n in range(12)))
    }
    assert all(len(seen) == 1 for seen in draws.values())
    held_out = {visitor_id for visitor_id, seen in draws.items() if seen == {(True, True)}}
    assert held_out and held_out != set(draws)  # some ids are held out, not all


def test_a_held_out_member_is_shown_as_such(tester, half_held_out):
    base = {"url": "/", "device": "desktop", "visits": "1"}
    for n in range(40):
        response = tester.get(URL, {**base, "visitor_id": f"visitor-{n}"})
        if verdict(response) == (True, True):
            break
    html = response.content.decode()
    assert "member, held out" in html
    assert "In the segment's 50 % holdout: sees the default content" in html


@pytest.mark.parametrize("visitor_id", ["has space", "x" * 65, "semi;colon"])
def test_a_visitor_id_is_letters_digits_and_dashes(tester, visitor_id):
    data = {"url": "/", "device": "desktop", "visits": "1", "visitor_id": visitor_id}
    response = tester.get(URL, data)
    assert "explanations" not in response.context
    assert response.context["form"].errors["visitor_id"]


def test_results_open_at_the_results(tester):
    html = tester.get(URL).content.decode()
    assert 'action="#segments-tester-results"' in html
    assert (
        'id="segments-tester-results"'
        in tester.get(URL, {"url": "/", "device": "desktop", "visits": "1"}).content.decode()
    )
