"""Steps an editor takes in Chromium (Playwright), shared by the browser tests."""


def log_in(page, live_server, username="editor"):
    """Log the browser in as ``username``: a session made on the server, its cookie given to
    the browser (the login form itself is ``log_in_through_the_form``'s)."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}]
    )


def log_in_through_the_form(page, live_server):
    """Log in as the ``editor`` fixture's superuser, as a person does."""
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "editor")
    page.fill("#id_password", "pw")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")


def expect_heading(iframe, text):
    from playwright.sync_api import expect

    expect(iframe.locator("h1").first).to_have_text(text, timeout=10_000)


def open_cockpit(page):
    trigger = page.locator("#wagtail-userbar-trigger")
    if trigger.get_attribute("aria-expanded") != "true":
        trigger.click()  # open the userbar's menu
    page.locator("[data-segments-cockpit-open]").click()
    cockpit = page.locator("[data-segments-cockpit]")
    cockpit.wait_for(state="visible")
    return cockpit
