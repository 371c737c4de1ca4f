"""The package on a page built the way real sites build them, not the way the sandbox does.

``EveryBlockPage`` renders ``{{ page.body }}`` (no request passed) from a base
template whose ``<body>`` starts with ``{% wagtailuserbar %}``; its body holds
every block Wagtail ships, a personalised block whose variant is for a segment
using ``ReferralCodeRule`` (registered in the test app's ``wagtail_hooks.py``),
and a block with an audience setting.
"""

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext, modify_settings
from django.urls import reverse

from tests.browsing import log_in, open_cockpit
from tests.factories import (
    BROWSER_UA,
    EVERY_BLOCK_SLUGS,
    SegmentFactory,
    edit_form_data,
    make_every_block_page,
    note,
    variant,
)
from tests.processes import run_another_process
from wagtail_segments import engine
from wagtail_segments.conf import MIDDLEWARE_PATH

pytestmark = pytest.mark.usefixtures("generous_rule_budget")  # pages, not the guard

REFERRED = {"referral": "harbour"}  # what ReferralCodeRule looks for
MEMBER = {"plan": "member"}
SHOWN = re.compile(r"Welcome, (?:partner|visitor)|Rate for members")

PERSONALISED = [
    {
        "type": "personalised_note",
        "value": {
            "default": note("Welcome, visitor"),
            "variants": [variant(note("Welcome, partner"), "partners")],
        },
    },
    {"type": "note", "value": note("Rate for members", show_to=["members"])},
]


@pytest.fixture
def redis_url():
    return "redis://127.0.0.1:6379/10"


@pytest.fixture
def accounts(pages):
    """The page, with a segment for each slug its blocks use."""
    for slug in EVERY_BLOCK_SLUGS:
        SegmentFactory(name=f"Segment {slug}", slug=slug)
    SegmentFactory(  # (the slug the other process of test_rule_safety compiles)
        name="Partners", slug="partners", rules=[("referral_code", {"code": "harbour"})]
    )
    SegmentFactory(
        slug="members",
        rules=[("cookie", {"name": "plan", "match": "equals", "value": "member"})],
    )
    return make_every_block_page(
        pages["root"],
        chosen_page=pages["savings"],
        extra_blocks=PERSONALISED,
        title="Harbour accounts",
        slug="accounts",
    )


def browser(cookies=(), user=None):
    client = Client(HTTP_USER_AGENT=BROWSER_UA)
    client.cookies.load(dict(cookies))
    if user is not None:
        client.force_login(user)
    return client


def shown(html):
    return SHOWN.findall(html)


# -- visitors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cookies, expected",
    [
        ({}, ["Welcome, visitor"]),
        (REFERRED, ["Welcome, partner"]),
        (MEMBER, ["Welcome, visitor", "Rate for members"]),
        ({**REFERRED, **MEMBER}, ["Welcome, partner", "Rate for members"]),
    ],
)
def test_each_visitor_gets_the_content_of_their_segments(accounts, cookies, expected):
    response = browser(cookies).get(accounts.url)
    assert response.status_code == 200
    html = response.content.decode()
    assert shown(html) == expected
    # Wagtail's own blocks render around ours.
    assert "<b>Raw harbour</b>" in html and "Harbour video" in html
    assert "Open an account" in html and "Save early." in html and "4.1%" in html


# -- editors -----------------------------------------------------------------------------------


def test_the_page_editor_opens(accounts, admin_client):
    response = admin_client.get(reverse("wagtailadmin_pages:edit", args=[accounts.pk]))
    assert response.status_code == 200
    assert "Welcome, partner" in response.content.decode()


def test_every_preview_mode_answers(accounts, admin_client):
    url = reverse("wagtailadmin_pages:preview_on_edit", args=[accounts.pk])
    posted = admin_client.post(url, edit_form_data(admin_client, accounts))
    assert posted.status_code == 200 and posted.json()["is_valid"], posted.content
    modes = [mode for mode, _ in accounts.preview_modes]
    assert {"", "segment:partners", "segment:members"} <= set(modes)
    assert len(modes) == len(EVERY_BLOCK_SLUGS - {"in-hidden"}) + 3
    expected = {
        "": ["Welcome, visitor"],
        "segment:partners": ["Welcome, partner"],
        "segment:members": ["Welcome, visitor", "Rate for members"],
    }
    for mode in modes:
        response = admin_client.get(url, {"mode": mode})
        assert response.status_code == 200, mode
        html = response.content.decode()
        assert shown(html) == expected.get(mode, ["Welcome, visitor"]), mode
        assert "<b>Raw harbour</b>" in html, mode


@pytest.fixture
def segment_viewer(django_user_model):
    """An editor who may use the admin and view segments, nothing more."""
    from django.contrib.auth.models import Group, Permission

    user = django_user_model.objects.create_user("viewer", "v@example.com", "pw")
    group = Group.objects.create(name="Segment viewers")
    group.permissions.add(
        Permission.objects.get(codename="access_admin"),
        Permission.objects.get(codename="view_segment"),
    )
    user.groups.add(group)
    return user


def cockpit_rows(html):
    blocks = html.split('class="segments-blocks"', 1)[1].split("</ul>", 1)[0]
    return [
        tuple(part.strip() for part in row)
        for row in re.findall(r"<strong>([^<]+)</strong>: ([^—]+) — ([^<]+)", blocks)
    ]


def test_the_cockpit_lists_every_personalised_block(accounts, segment_viewer):
    html = browser(REFERRED, user=segment_viewer).get(accounts.url).content.decode()
    body = html.split("<body", 1)[1]
    assert body.index("data-segments-cockpit") < body.index("<main>")  # the userbar comes first
    assert shown(html) == ["Welcome, partner"]
    # Every personalised block and audience setting the page rendered, in page order
    # (a list item and a personalised block's default have no name of their own).
    assert cockpit_rows(html) == [
        ("Note", "hidden", "shown only to Segment in-table: not a member"),
        ("Note", "shown", "not in any segment it is hidden from"),
        ("Block", "hidden", "shown only to Segment in-list: not a member"),
        ("Note", "hidden", "shown only to Segment in-section: not a member"),
        ("Picture", "default", "variant 1 (Segment section-variant) did not match"),
        ("Note", "hidden", "shown only to Segment in-nested-stream: not a member"),
        ("Offer", "default", "variant 1 (Segment image-variant) did not match"),
        (
            "Personalised note",
            "default",
            "variant 1 (Segment note-variant) did not match; "
            "variant 2 (Segment hiding) did not match",
        ),
        ("Block", "hidden", "shown only to Segment in-default: not a member"),
        ("Note", "hidden", "shown only to Segment top: not a member"),
        ("Personalised note", "variant 1", "member of Partners"),
        ("Note", "hidden", "shown only to Members: not a member"),
    ]


# -- processes and queries ---------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("hooks", ["unloaded", "unavailable"])
def test_another_process_sharing_redis_does_not_stop_the_custom_rule(
    shared_redis, accounts, tmp_path, monkeypatch, hooks
):
    # A management command or a worker compiles the definitions into the shared cache,
    # having loaded the project's hooks late ("unloaded") or never ("unavailable").
    other = run_another_process(tmp_path, hooks=hooks)
    if hooks == "unloaded":
        assert other["errors"] == [""]

        # Same rules registered: this web process serves the other one's compiled copy.
        def compile_again():
            pytest.fail("compiled again: the other process's copy went unused")

        monkeypatch.setattr(engine, "compile_definitions", compile_again)
    else:
        assert other["errors"] == ["no rule 'referral_code' is registered"]
    engine._memory.update(version=None, definitions=None)  # a web process starting afresh
    assert shown(browser(REFERRED).get(accounts.url).content.decode()) == ["Welcome, partner"]


def test_a_warm_request_adds_no_query(accounts, django_assert_num_queries):
    with modify_settings(MIDDLEWARE={"remove": [MIDDLEWARE_PATH]}):
        plain = browser()
        plain.get(accounts.url)  # renditions made, the page's own caches warm
        with CaptureQueriesContext(connection) as without_package:
            assert shown(plain.get(accounts.url).content.decode()) == ["Welcome, visitor"]
        plain_queries = len(without_package)  # (read now: the next request clears the log)
    assert plain_queries > 0  # the page itself: site, page, restrictions, its chosen items
    visitor = browser({**REFERRED, **MEMBER})
    visitor.get(accounts.url)  # definitions compiled, profile cookie set
    with django_assert_num_queries(plain_queries):
        html = visitor.get(accounts.url).content.decode()
    assert shown(html) == ["Welcome, partner", "Rate for members"]


# -- in a browser ------------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_in_chromium_a_partner_sees_the_variant_and_an_editor_the_cockpit(
    live_server, accounts, django_user_model, browser_page, screenshot
):
    django_user_model.objects.create_superuser("editor", "editor@example.com", "pw")
    page = browser_page
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.context.add_cookies([{"name": "referral", "value": "harbour", "url": live_server.url}])
    assert page.goto(live_server.url + accounts.url).status == 200
    assert page.locator("main").get_by_text("Welcome, partner").is_visible()
    assert page.get_by_text("Welcome, visitor").count() == 0
    assert page.locator("#wagtail-userbar-trigger").count() == 0  # no userbar for visitors
    screenshot("partner")

    log_in(page, live_server)
    page.goto(live_server.url + accounts.url)
    cockpit = open_cockpit(page)
    listed = cockpit.locator(".segments-blocks > li")
    assert listed.count() == 12
    assert "Personalised note: variant 1 — member of Partners" in listed.nth(10).inner_text()
    assert "Note: hidden — shown only to Members: not a member" in listed.nth(11).inner_text()
    listed.nth(10).locator("[data-segments-highlight]").click()  # points the block out
    path = screenshot("cockpit")
    assert path.stat().st_size > 10_000
    assert errors == []
