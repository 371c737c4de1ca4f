"""The segment tester in the admin."""

import pytest

from tests.test_cockpit import admin_only, editor  # noqa: F401  (fixtures)
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
