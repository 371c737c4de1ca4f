"""The cockpit in the userbar, "view as", and who may use them."""

import re

import pytest
from django.core import signing
from django.test import RequestFactory

from tests.factories import BROWSER_UA, CAMPUS, COCKPIT, SegmentFactory, visitor_client
from wagtail_segments import engine
from wagtail_segments.admin.userbar import CockpitItem
from wagtail_segments.conf import segments_settings
from wagtail_segments.models import Interest, PageInterest, Segment
from wagtail_segments.visitor.editors import VIEW_AS_COOKIE, VIEW_AS_SALT
from wagtail_segments.visitor.profile import VisitorProfile
from wagtail_segments.visitor.state import attach_state
from wagtail_segments.visitor.stores import _sign


@pytest.fixture
def site(demo_site):
    return demo_site


def hero(response):
    return response.content.decode().split("<h1>", 1)[1].split("</h1>", 1)[0]


def test_editors_get_the_cockpit_explaining_the_page(site, editor):
    client = visitor_client(editor)
    client.get(CAMPUS)
    html = client.get("/").content.decode()
    assert COCKPIT in html
    assert "Why you see this page" in html
    assert "College students" in html and "✓ member" in html
    assert "utm_campaign is “campus”" in html and "this visitor:" in html
    assert "campaign “campus”" in html  # the ledger says what moved the score
    assert 'data-segments-block="0"' in html  # the hero can be pointed out
    assert "variant 1 — member of College students" in html


def test_visitors_and_editors_without_permission_get_no_cockpit(site, admin_only):
    assert COCKPIT not in visitor_client().get("/").content.decode()
    writer_page = visitor_client(admin_only).get("/").content.decode()
    assert "wagtail-userbar" in writer_page  # Wagtail's own userbar is there...
    assert COCKPIT not in writer_page  # ...but not the cockpit
    assert "data-segments-block" not in writer_page


def test_no_cockpit_in_the_preview_panel(site, editor):
    request = RequestFactory().get("/", headers={"user-agent": BROWSER_UA})
    request.user, request.in_preview_panel = editor, True
    request.COOKIES["sessionid"] = "x"
    attach_state(request)
    assert CockpitItem().render_html({"request": request}) == ""
    request.in_preview_panel = False
    assert COCKPIT in CockpitItem().render_html({"request": request})


def test_thresholds_show_how_far_an_interest_is(site, editor):
    PageInterest.objects.filter(page__slug="investing").update(points=4)
    engine.invalidate_definitions()
    client = visitor_client(editor)
    client.get("/investing/")
    html = client.get("/").content.decode()
    score = float(
        re.search(
            r"Investing <small>\(Persona\)</small></span>.*?__value\">([\d.]+)<", html, re.S
        ).group(1)
    )
    assert 0 < score < 20
    assert f"Investors at 20: {20 - score:.1f} to go" in html
    assert f"+{score:.1f} Investing — viewing “Investing”" in html  # page and tag points


def test_view_as_switches_the_editors_page_and_is_flagged(site, editor):
    client = visitor_client(editor)
    assert hero(client.get("/")) == "Banking that keeps you afloat"
    response = client.post("/personalisation/view-as/", {"segment": ["investors"], "next": "/"})
    assert response.status_code == 302 and response["Location"] == "/"
    page = client.get("/")
    assert hero(page) == "Your money, working harder"
    assert "Viewing as: Investors" in page.content.decode()
    assert "private" in page["Cache-Control"]
    client.post("/personalisation/view-as/", {"stop": "1", "next": "/"})
    assert hero(client.get("/")) == "Banking that keeps you afloat"


def test_nobody_else_can_force_a_segment(site, editor, admin_only):
    editor_client = visitor_client(editor)
    editor_client.post("/personalisation/view-as/", {"segment": ["investors"]})
    stolen = editor_client.cookies[VIEW_AS_COOKIE].value
    forged = signing.dumps(["investors"], salt="another-salt")
    for client in (visitor_client(), visitor_client(admin_only)):
        # A stolen or forged cookie, a query parameter, or the endpoint itself: nothing works.
        for value in (stolen, forged, "investors", '["investors"]'):
            client.cookies[VIEW_AS_COOKIE] = value
            assert hero(client.get("/?view_as=investors&segment=investors")) == (
                "Banking that keeps you afloat"
            )
        answer = client.post("/personalisation/view-as/", {"segment": ["investors"]})
        assert answer.status_code == 403
        assert VIEW_AS_COOKIE not in answer.cookies


def test_view_as_refuses_bad_slugs(site, editor):
    client = visitor_client(editor)
    bad = client.post("/personalisation/view-as/", {"segment": ["<b>x</b>"]})
    assert bad.status_code == 400
    assert VIEW_AS_COOKIE not in bad.cookies
    good = client.post("/personalisation/view-as/", {"segment": ["investors"]})
    assert signing.loads(good.cookies[VIEW_AS_COOKIE].value, salt=VIEW_AS_SALT) == ["investors"]


def test_markup_in_names_and_values_is_shown_as_text(site, editor):
    evil = '<img src=x onerror="alert(1)">'
    SegmentFactory(
        name=f"Evil {evil}",
        slug="evil",
        rules=[{"type": "attribute", "value": {"key": "plan", "operator": "eq", "value": evil}}],
    )
    Interest.objects.filter(slug="saving").update(name=f"Saving {evil}", group=evil)
    profile = VisitorProfile()
    profile.set_attribute("plan", evil)  # as site code might, from user input
    client = visitor_client(editor)
    client.cookies[segments_settings.COOKIE_NAME] = _sign(profile.to_data())
    client.get("/savings/", {"utm_campaign": evil})
    html = client.get("/").content.decode()
    assert "onerror" in html  # it is shown...
    assert evil not in html  # ...never as markup
    escaped = "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;"
    assert html.count(escaped) >= 3  # segment name, rule value, interest, UTM
    assert f"<dt>plan</dt><dd><code>{escaped}</code></dd>" in html  # the attribute


def test_the_cockpit_says_which_holdout_keeps_a_block_on_the_default(site, editor):
    Segment.objects.filter(slug="college-students").update(holdout_percent=100)
    engine.invalidate_definitions()
    client = visitor_client(editor)
    client.get(CAMPUS)
    html = client.get("/").content.decode()
    assert "default — in the holdout of College students: keeps the default" in html


def segment_verdicts(html):
    """``{segment name: verdict}`` as the cockpit's segment list shows them."""
    found = re.findall(
        r'<span class="segments-verdict">([^<]+)</span>\s*([^<\n]+?)\s*(?:<small>|\n)', html
    )
    return {name.strip(): " ".join(verdict.split()) for verdict, name in found}


def test_viewing_as_the_segment_list_agrees_with_the_blocks(site, editor):
    """The list shows the forced membership as such, not the editor's own verdict."""
    client = visitor_client(editor)
    client.get(CAMPUS)  # the editor is a college student themselves
    client.post("/personalisation/view-as/", {"segment": ["investors"], "next": "/"})
    html = client.get("/").content.decode()
    verdicts = segment_verdicts(html)
    assert verdicts["Investors"] == "✓ member while viewing as"
    assert verdicts["College students"] == "✗ not a member while viewing as"
    assert "you are a member yourself" in html  # their own verdict stays in sight
    # The hero row: variant 2 won because variant 1 did not match.
    assert "variant 2 — variant 1 (College students) did not match; member of Investors" in html


def test_the_highlight_button_names_both_of_its_states(site, editor):
    client = visitor_client(editor)
    html = client.get("/").content.decode()
    assert 'data-show-label="Show" data-hide-label="Hide"' in html
