"""People in Debian's Chromium: the sandbox's demo customers, filtered by segment, one opened."""

import pytest

from tests.browsing import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def customers(demo_site, sandbox_settings):
    """Sam and Ivy, as `make run` loads them: logged in, with the user store."""
    from pages.management.commands.load_demo import Command

    Command().load_customers()


def test_people_filtered_by_a_segment_and_one_person_explained(
    live_server, customers, editor, browser_page, screenshot, request
):
    page = browser_page
    check = request.getfixturevalue("axe")
    log_in(page, live_server)
    page.goto(f"{live_server.url}/admin/")
    page.get_by_role("button", name="Personalisation").click()
    page.get_by_role("link", name="People").click()
    page.wait_for_url(f"{live_server.url}/admin/personalisation/people/")
    table = page.locator("table.listing")
    assert "Sam Okafor" in table.inner_text() and "Ivy Marsh" in table.inner_text()
    screenshot("people")
    assert check("people") == {}

    page.get_by_role("button", name="Show filters").click()
    page.get_by_role("button", name="Member of").click()
    page.get_by_label("Investors").check()
    page.wait_for_url("**segment=investors**")
    page.locator("table.listing", has_text="Ivy Marsh").wait_for()
    assert "Sam Okafor" not in page.locator("table.listing").inner_text()
    screenshot("investors")

    page.get_by_role("link", name="Ivy Marsh").click()
    page.wait_for_url("**/admin/personalisation/people/person/user:*/")
    assert page.locator("h1").inner_text().strip() == "Ivy Marsh"
    investors = page.locator("table.segments-explanations tr", has_text="Investors")
    assert "member" in investors.text_content() and "not a member" not in investors.text_content()
    assert "investing score ≥ 20" in investors.text_content()
    assert "this visitor:" in investors.text_content()
    students = page.locator("table.segments-explanations tr", has_text="College students")
    assert "not a member" in students.text_content()
    visits = page.locator("table.listing", has_text="Landing page")
    assert "isa-season" in visits.inner_text() and "newsletter" in visits.inner_text()
    screenshot("ivy")
    assert check("person") == {}
    investors.scroll_into_view_if_needed()
    screenshot("ivy-segments")
