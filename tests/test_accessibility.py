"""axe-core in Debian's Chromium: no serious or critical violation on the package's screens.

axe-core comes from npm (``package.json``; ``make test`` installs it). Each
page's full results are kept in test-artifacts/axe-<page>.json.
"""

import pytest

from tests.browsing import log_in, open_cockpit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_home_page_of_the_sandbox(live_server, demo_site, browser_page, axe):
    browser_page.goto(f"{live_server.url}/?utm_campaign=campus")
    assert axe("home") == {}


def test_the_open_cockpit(live_server, demo_site, editor, browser_page, axe):
    log_in(browser_page, live_server)
    browser_page.goto(f"{live_server.url}/?utm_campaign=campus")
    open_cockpit(browser_page)
    assert axe("cockpit") == {}


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("segment-editor", "/admin/personalisation/segments/add/"),
        ("tester", "/admin/personalisation/tester/?url=%2F&device=desktop&visits=2"),
        ("segments-report", "/admin/personalisation/reports/segments/"),
        ("variants-report", "/admin/personalisation/reports/variants/"),
    ],
)
def test_the_admin_screens(live_server, demo_site, editor, browser_page, axe, name, path):
    log_in(browser_page, live_server)
    response = browser_page.goto(live_server.url + path)
    assert response.status == 200
    assert axe(name) == {}
