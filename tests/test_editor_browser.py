"""The editors' screens in Debian's Chromium: personalised blocks and the segment editor."""

import pytest

from tests.browsing import log_in
from tests.conftest import ARTIFACTS

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("editor"),
]


def expect(locator):
    from playwright.sync_api import expect

    return expect(locator)


def snapshot(request, locator, name):
    """A screenshot of one part of the editor, in a window tall enough for all of it
    (the admin's header and footer stay in view, over whatever they would cover)."""
    ARTIFACTS.mkdir(exist_ok=True)
    page, size = locator.page, locator.page.viewport_size
    height = int(locator.bounding_box()["height"])
    page.set_viewport_size({"width": size["width"], "height": max(size["height"], height + 400)})
    locator.scroll_into_view_if_needed()
    locator.screenshot(path=ARTIFACTS / f"{request.node.name}-{name}.png")
    page.set_viewport_size(size)


def edit_home_page(page, live_server):
    from pages.models import HomePage

    log_in(page, live_server)
    page.goto(f"{live_server.url}/admin/pages/{HomePage.objects.get().pk}/edit/")


def publish(page):
    page.locator("footer [data-w-dropdown-target='toggle']").click()
    page.locator("button[name='action-publish']").click()
    page.wait_for_selector(".messages .success")


def personalised_hero():
    from pages.models import HomePage

    body = HomePage.objects.get().body.raw_data
    return [block["value"] for block in body if block["type"] == "personalised_hero"]


def test_a_new_variant_starts_as_a_copy_of_the_default(
    live_server, demo_site, browser_page, request
):
    page = browser_page
    edit_home_page(page, live_server)
    default = page.locator("[data-contentpath='default']").first
    variants = page.locator("[data-contentpath='variants']").first
    before = variants.locator("[data-streamfield-child]").count()

    variants.locator("button[data-streamfield-list-add]").last.click()
    variant = variants.locator("[data-streamfield-child]").nth(before)
    for field in ("heading", "button_text"):
        copied = default.locator(f"input[name$='-default-{field}']").input_value()
        assert copied
        expect(variant.locator(f"input[name$='-value-{field}']")).to_have_value(copied)
    text = default.locator("textarea[name$='-default-text']").input_value()
    expect(variant.locator("textarea[name$='-value-text']")).to_have_value(text)
    markers = variant.locator(".wsg-marker")
    expect(markers.first).to_have_text("Same as the default")
    assert set(markers.all_inner_texts()) == {"Same as the default"}
    title = variant.locator("[data-panel-heading-text]").first
    expect(title).to_have_text("For no segment yet")

    # The header names the segments as they are ticked.
    variant.get_by_label("Cart under £100", exact=True).check()
    expect(title).to_have_text("For Cart under £100")

    # Each field says whether it differs from the default, as one types.
    variant.locator("input[name$='-value-heading']").fill("Free delivery over £100")
    expect(variant.locator("[data-contentpath='heading'] .wsg-marker")).to_have_text(
        "Differs from the default"
    )
    variant.locator("input[name$='-value-button_text']").fill("")
    expect(variant.locator("[data-contentpath='button_text'] .wsg-marker")).to_have_text(
        "Blank, unlike the default"
    )
    expect(variant.locator("[data-contentpath='text'] .wsg-marker")).to_have_text(
        "Same as the default"
    )
    snapshot(request, variant, "variant")
    variant.locator("[data-panel-toggle]").first.click()
    expect(title).to_be_visible()
    snapshot(request, variants, "collapsed")

    publish(page)
    stored = personalised_hero()[0]["variants"][before]
    assert stored["segments"] == ["small-cart"]
    assert stored["value"]["heading"] == "Free delivery over £100"
    assert stored["value"]["text"] == text
    assert stored["value"]["button_text"] == ""


def test_a_new_personalised_block_publishes_without_a_variant(
    live_server, demo_site, browser_page, request
):
    page = browser_page
    edit_home_page(page, live_server)
    page.locator("button[title='Insert a block']").last.click()
    page.get_by_role("option", name="Personalised hero", exact=True).click()
    block = page.locator("[data-contentpath='default']").last.locator("xpath=..")
    expect(block.locator("[data-contentpath='variants'] [data-streamfield-child]")).to_have_count(0)
    block.locator("input[name$='-default-heading']").fill("Welcome aboard")
    snapshot(request, block, "new-block")

    publish(page)
    assert personalised_hero()[-1] == {
        "default": {
            "heading": "Welcome aboard",
            "text": "",
            "button_text": "",
            "button_page": None,
            "image": None,
            "theme": "harbour",
        },
        "variants": [],
    }


def test_the_segment_editor_fills_the_slug_and_groups_the_rules(
    live_server, demo_site, browser_page, request
):
    page = browser_page
    log_in(page, live_server)
    page.goto(f"{live_server.url}/admin/personalisation/segments/add/")
    assert page.locator("h1").count() == 1
    page.locator("#id_name").press_sequentially("Returning savers")
    expect(page.locator("#id_slug")).to_have_value("returning-savers")

    page.locator("button[title='Insert a block']").last.click()
    groups = page.locator(".w-combobox__optgroup-label")
    expect(groups.first).to_have_text("Visit and source")
    assert groups.all_inner_texts() == [
        "Visit and source",
        "Device and place",
        "Behaviour",
        "Interests",
        "People",
        "Advanced",
        "This site's rules",
    ]
    page.wait_for_function("getComputedStyle(document.querySelector('.tippy-box')).opacity == 1")
    page.screenshot(path=ARTIFACTS / f"{request.node.name}-rule-chooser.png")
    page.get_by_role("option", name="Language", exact=True).click()
    page.locator("input[name$='-value-languages']").fill("de")
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url(f"{live_server.url}/admin/personalisation/segments/")
    expect(page.get_by_text("Language is de", exact=True)).to_be_visible()
