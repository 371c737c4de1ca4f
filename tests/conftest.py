import os
from pathlib import Path

import pytest
from django.core.management import call_command

from tests.factories import BROWSER_UA, make_site_with_pages

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
SUMMARY_LINES = []  # printed after the run, so figures reach CI's log despite capturing


def pytest_terminal_summary(terminalreporter):
    if SUMMARY_LINES:
        terminalreporter.section("figures")
        for line in SUMMARY_LINES:
            terminalreporter.write_line(line)


@pytest.fixture
def terminal_summary():
    """A list of lines to print at the end of the run (measured figures)."""
    return SUMMARY_LINES


@pytest.fixture(autouse=True, scope="session")
def stats_flushed_by_hand():
    """No background writer in tests: a test that checks stats calls ``recorder.flush()``."""
    from wagtail_segments.stats.recording import recorder

    recorder.autostart = False
    yield
    forget_pending_stats()  # counts of tests that never flushed: not for the exit handler


@pytest.fixture(autouse=True)
def no_stats_of_earlier_tests():
    """Counts an earlier test left unwritten belong to its database, not this test's."""
    forget_pending_stats()


def forget_pending_stats():
    from wagtail_segments.stats.recording import recorder

    with recorder.lock:
        recorder.pending.clear()
        recorder.visitors.clear()


@pytest.fixture
def cache_reads(monkeypatch):
    """The keys read from Django's default cache from now on (clear it to start afresh)."""
    from django.core.cache import cache

    keys = []
    read = cache.get
    monkeypatch.setattr(cache, "get", lambda key, *a, **k: keys.append(key) or read(key, *a, **k))
    return keys


@pytest.fixture
def shared_redis(settings, redis_url):
    """Django's cache in Redis at ``redis_url`` (a fixture each module sets to its own database)."""
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url(redis_url).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip(f"Redis is not running at {redis_url}")
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url}
    }
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def pages(db):
    """A test site: a root page with savings, investing and students children."""
    return make_site_with_pages("savings", "investing", "students")


@pytest.fixture
def visitor(client, pages):
    """A test client that looks like a person's browser, on the test site."""
    client.defaults["HTTP_USER_AGENT"] = BROWSER_UA
    return client


@pytest.fixture
def demo_site(db):
    """The sandbox's demo content, as `make run` loads it (without the demo user)."""
    call_command("load_demo", "--no-user", "--no-traffic", verbosity=0)


@pytest.fixture
def sandbox_settings(settings):
    """The sandbox's own WAGTAIL_SEGMENTS (it asks for consent); other tests use the defaults."""
    from bank import settings as sandbox

    settings.WAGTAIL_SEGMENTS = sandbox.WAGTAIL_SEGMENTS
    return sandbox.WAGTAIL_SEGMENTS


@pytest.fixture(scope="session")
def chromium():
    """Debian's Chromium driven by Playwright; never a downloaded browser build."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium to run browser tests")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop; the live server's database
    # access from this thread is still synchronous.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def browser_page(chromium):
    # Headless Chromium announces itself as HeadlessChrome, which the package treats
    # as a bot; the tests browse as the desktop Chrome a person would use.
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, user_agent=BROWSER_UA)
    page = context.new_page()
    yield page
    # Leave the page first: its scripts (the preview panel's polling) stop sending
    # requests, which would hold the live server's database while the test's is flushed.
    page.goto("about:blank")
    context.close()


@pytest.fixture
def screenshot(browser_page, request):
    """Save a full-page screenshot under test-artifacts/, named after the test."""
    ARTIFACTS.mkdir(exist_ok=True)

    def take(name=""):
        stem = request.node.name + (f"-{name}" if name else "")
        path = ARTIFACTS / f"{stem}.png"
        browser_page.screenshot(path=path, full_page=True)
        return path

    return take
