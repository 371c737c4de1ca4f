"""The cockpit fits the window in Debian's Chromium: it scrolls inside the viewport."""

import pytest

from tests.browsing import log_in, open_cockpit

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("editor"),
]


@pytest.mark.parametrize("height", [600, 420])
def test_reset_my_profile_is_never_cut_off(live_server, demo_site, browser_page, height):
    page = browser_page
    log_in(page, live_server)
    page.set_viewport_size({"width": 1024, "height": height})
    page.goto(f"{live_server.url}/?utm_campaign=campus")
    cockpit = open_cockpit(page)
    box = cockpit.bounding_box()
    assert box["y"] >= 0 and box["y"] + box["height"] <= height  # inside the window
    reset = cockpit.get_by_role("button", name="Reset my profile")
    reset.scroll_into_view_if_needed()
    button = reset.bounding_box()
    assert box["y"] <= button["y"] and button["y"] + button["height"] <= box["y"] + box["height"]
    assert cockpit.evaluate("element => element.scrollHeight > element.clientHeight")
