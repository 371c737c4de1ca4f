"""A new editor's whole loop through the real admin, in Debian's Chromium, counted.

From a fresh sandbox: create a segment, give the home page's hero a variant
for it (a copy of the default, one field changed), save the draft, preview
the page as the segment, publish, and view the live site as the segment from the cockpit.
Every click, keystroke sequence, choice and address typed is one action; the
loop must take at most 20 (logging in is not part of it). A screenshot of
each step lands in test-artifacts/.
"""

import pytest

from tests.browsing import expect_heading, log_in_through_the_form, open_cockpit
from tests.conftest import ARTIFACTS

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("editor"),
]

MOST_ACTIONS = 20
SEGMENT = "Returning visitors"
HEADING = "Welcome back to Harbour Bank"


class Loop:
    """The browser page, with every action the editor takes counted and named."""

    def __init__(self, page, request):
        self.page, self.request, self.actions = page, request, []

    def act(self, what, action):
        self.actions.append(what)
        action()

    def step(self, name):
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.screenshot(
            path=ARTIFACTS / f"{self.request.node.name}-{len(self.actions):02}-{name}.png"
        )


def test_a_new_editor_personalises_the_home_page_in_at_most_20_actions(
    live_server, demo_site, browser_page, request
):
    from pages.models import HomePage
    from playwright.sync_api import expect

    from wagtail_segments.models import Segment

    page = browser_page
    log_in_through_the_form(page, live_server)
    loop = Loop(page, request)
    act = loop.act

    # 1. A segment: a name (the slug follows) and one rule.
    act(
        "open Add segment",
        lambda: page.goto(f"{live_server.url}/admin/personalisation/segments/add/"),
    )
    act("type its name", lambda: page.locator("#id_name").press_sequentially(SEGMENT))
    act("insert a rule", lambda: page.locator("button[title='Insert a block']").last.click())
    act("choose Visits", lambda: page.get_by_role("option", name="Visits", exact=True).click())
    act("count 2", lambda: page.locator("input[name$='-value-count']").last.fill("2"))
    loop.step("segment")
    act("save", lambda: page.get_by_role("button", name="Save", exact=True).click())
    page.wait_for_url(f"{live_server.url}/admin/personalisation/segments/")
    segment = Segment.objects.get(name=SEGMENT)
    assert segment.slug == "returning-visitors"
    loop.step("listing")

    # 2. A variant of the home page's hero for it: a copy of the default, one field changed.
    home = HomePage.objects.get()
    act("edit the home page", lambda: page.goto(f"{live_server.url}/admin/pages/{home.pk}/edit/"))
    variants = page.locator("[data-contentpath='variants']").first
    before = variants.locator("[data-streamfield-child]").count()
    act("add a variant", lambda: variants.locator("button[data-streamfield-list-add]").last.click())
    variant = variants.locator("[data-streamfield-child]").nth(before)
    default = page.locator("[data-contentpath='default']").first
    copied = default.locator("input[name$='-default-heading']").input_value()
    expect(variant.locator("input[name$='-value-heading']")).to_have_value(copied)
    act("tick the segment", lambda: variant.get_by_label(SEGMENT, exact=True).check())
    act(
        "change the heading", lambda: variant.locator("input[name$='-value-heading']").fill(HEADING)
    )
    expect(variant.locator("[data-panel-heading-text]").first).to_have_text(f"For {SEGMENT}")
    loop.step("variant")

    # 3. Save the draft (the preview offers a mode per segment the saved page uses), then
    # preview as the segment, before publishing.
    act("save the draft", lambda: page.get_by_role("button", name="Save draft").click())
    page.wait_for_selector(".messages .success")
    act("open the preview", lambda: page.get_by_role("button", name="Toggle preview").click())
    preview = page.frame_locator("#w-preview-iframe")
    expect_heading(preview, copied)  # the default visitor's, once the panel has loaded
    modes = page.locator("#id_preview_mode")
    act("preview as the segment", lambda: modes.select_option(label=f"As “{SEGMENT}”"))
    expect_heading(preview, HEADING)
    loop.step("preview")

    # 4. Publish.
    act(
        "open the publish menu",
        lambda: page.locator("footer [data-w-dropdown-target='toggle']").click(),
    )
    act("publish", lambda: page.locator("button[name='action-publish']").click())
    page.wait_for_selector(".messages .success")
    loop.step("published")

    # 5. The live site, viewed as the segment from the cockpit.
    act("open the site", lambda: page.goto(f"{live_server.url}/"))
    assert HEADING not in page.locator("h1").first.inner_text()  # not a member yet
    cockpit = None

    def open_the_cockpit():
        nonlocal cockpit
        cockpit = open_cockpit(page)

    # open_cockpit clicks twice: the userbar's menu, then its Personalisation item.
    loop.actions.append("open the userbar")
    act("open Personalisation", open_the_cockpit)
    act("tick the segment to view as", lambda: cockpit.get_by_label(SEGMENT).check())
    act(
        "view as it",
        lambda: cockpit.get_by_role("button", name="View as these segments").click(),
    )
    expect(page.locator("h1").first).to_have_text(HEADING)
    loop.step("live-as-segment")

    assert len(loop.actions) <= MOST_ACTIONS, loop.actions
