"""Steps an editor takes in Chromium (Playwright), shared by the browser tests."""


def log_in(page, live_server):
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
