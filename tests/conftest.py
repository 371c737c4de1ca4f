import json
from collections import Counter
from pathlib import Path

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.test.signals import template_rendered

from tests.factories import BROWSER_UA, make_offer_page, make_site_with_pages

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
AXE = Path(__file__).resolve().parent.parent / "node_modules" / "axe-core" / "axe.min.js"
AXE_BLOCKING = ("serious", "critical")  # the impacts of violations that fail a test
MIGRATED = pytest.StashKey()  # the migrated database's rows, and pytest-django's blocker
PUT_BACK = pytest.StashKey()  # set on a test after which the migrated rows are put back
SUMMARY_LINES = []  # printed after the run, so figures reach CI's log despite capturing


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    """Files with browser tests first: the longest, so two pytest-xdist workers finish together.

    (pytest-django ran its own ordering before, putting tests that flush the database
    last; the migrated rows are put back after each of them, so any order is safe.)
    """
    slow_files = {item.path for item in items if item.get_closest_marker("browser")}
    order = {id(item): index for index, item in enumerate(items)}
    items.sort(key=lambda item: (item.path not in slow_files, order[id(item)]))


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


def flushes_the_database(request):
    """Whether the test runs as a ``TransactionTestCase``, which empties every table after."""
    marker = request.node.get_closest_marker("django_db")
    transactional = marker is not None and (
        marker.kwargs.get("transaction") or (marker.args and marker.args[0])
    )
    return bool(transactional) or bool(
        {"transactional_db", "live_server"} & set(request.fixturenames)
    )


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings):
    """The test database is made by copying a migrated one, when SQLite (about 10 s a
    process saved: ``tests/template_database.py``)."""
    from tests.template_database import copy_migrated_database_once

    copy_migrated_database_once()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker, pytestconfig):
    """Django's test database, and the rows its migrations made (Wagtail's root page and
    site, its groups, the content types), read before any test can change them."""
    from tests.snapshots import read_rows

    with django_db_blocker.unblock():
        pytestconfig.stash[MIGRATED] = read_rows(), django_db_blocker


def put_back_migrated_rows(config, flush):
    """The database as its migrations left it, with the same ids: emptied first if ``flush``."""
    from tests.snapshots import put_rows_back

    rows, blocker = config.stash[MIGRATED]
    with blocker.unblock():
        if flush:
            call_command("flush", interactive=False, verbosity=0)
        put_rows_back(rows)


@pytest.fixture(scope="session")
def migrated_database(django_db_setup, pytestconfig):
    """Empty the database and put back what its migrations made (after committed setup)."""
    return lambda: put_back_migrated_rows(pytestconfig, flush=True)


@pytest.fixture(autouse=True)
def migrated_rows_back_after_a_flush(request):
    """A test on a live server ends with an empty database (Django's flush): the rows the
    migrations made are put back once its fixtures are torn down (below), so the next
    test in this process finds them, in whatever order pytest-xdist hands out files."""
    if flushes_the_database(request):
        request.getfixturevalue("django_db_setup")
        request.node.stash[PUT_BACK] = True


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    yield  # the test's fixtures are torn down: the flush is done
    # After the last test the test database is gone too, and the settings name the real one.
    if item.stash.get(PUT_BACK, False) and nextitem is not None:
        put_back_migrated_rows(item.config, flush=False)


@pytest.fixture
def offer_page(db):
    """A personalised page offering something else to visitors of each country."""
    from wagtail_segments import engine

    cache.clear()
    engine.invalidate_definitions()
    return make_offer_page()


@pytest.fixture(scope="session")
def demo_rows():
    """This test process's copy of the demo's rows, once ``load_demo`` has made them."""
    return {}


@pytest.fixture
def demo_site(db, demo_rows):
    """The sandbox's demo content, as `make run` loads it (without the demo user).

    ``load_demo`` runs once per test process, for the first test that asks;
    later tests get the rows of the tables it changed back in milliseconds
    (``tests/snapshots.py``); rows a test made in other tables (its users) stay.
    """
    from tests.snapshots import changed_rows, forget_cached_rows, put_rows_back, read_rows

    if demo_rows:
        put_rows_back(demo_rows)
    else:
        before = read_rows()
        call_command("load_demo", "--no-user", "--no-traffic", verbosity=0)
        demo_rows.update(changed_rows(before, read_rows()))
    yield
    forget_cached_rows()


@pytest.fixture
def counted(demo_site):
    """The demo site with nothing counted yet."""
    from wagtail_segments import engine
    from wagtail_segments.models import GoalDay, SegmentDay, SiteDay, VariantDay
    from wagtail_segments.stats.recording import recorder

    recorder.flush()
    for model in (SiteDay, SegmentDay, VariantDay, GoalDay):
        model.objects.all().delete()
    cache.clear()
    engine.invalidate_definitions()


@pytest.fixture
def generous_rule_budget(monkeypatch):
    """Two seconds for a project's rule to answer, not 50 ms: for tests of what pages show,
    where a test machine busy with other workers and Chromium may take longer than the
    budget to start a rule's thread (the guard's own tests keep the real budget)."""
    from wagtail_segments.rules import compiled

    monkeypatch.setattr(compiled, "RULE_TIME_BUDGET", 2.0)


@pytest.fixture
def editor(django_user_model):
    """A superuser, who logs in as "editor" with the password "pw"."""
    return django_user_model.objects.create_superuser("editor", "editor@example.com", "pw")


@pytest.fixture
def admin_only(django_user_model):
    """May use the Wagtail admin (so sees the userbar) but not view segments."""
    from django.contrib.auth.models import Group, Permission

    user = django_user_model.objects.create_user("writer", "w@example.com", "pw")
    group = Group.objects.create(name="Writers")
    group.permissions.add(Permission.objects.get(codename="access_admin"))
    user.groups.add(group)
    return user


@pytest.fixture
def renders():
    """How many times each template was rendered (a cache hit renders nothing)."""
    seen = Counter()

    def count(sender, template, **kwargs):
        seen[template.name] += 1

    template_rendered.connect(count)
    yield seen
    template_rendered.disconnect(count)


@pytest.fixture
def sandbox_settings(settings):
    """The sandbox's own WAGTAIL_SEGMENTS (it asks for consent); other tests use the defaults."""
    from bank import settings as sandbox

    settings.WAGTAIL_SEGMENTS = sandbox.WAGTAIL_SEGMENTS
    return sandbox.WAGTAIL_SEGMENTS


@pytest.fixture(scope="module")
def chromium():
    """Debian's Chromium driven by Playwright; never a downloaded browser build.

    One per test module: Playwright runs an event loop in this thread while it is
    open, and a later module's ASGI test needs the thread without one.
    """
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium to run browser tests")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop; the live server's database
    # access from this thread is still synchronous.
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def browser_page(chromium):
    # Headless Chromium announces itself as HeadlessChrome, which the package treats
    # as a bot; the tests browse as the desktop Chrome a person would use.
    context = chromium.new_context(
        viewport={"width": 1280, "height": 900}, user_agent=BROWSER_UA, reduced_motion="reduce"
    )
    page = context.new_page()
    yield page
    # Leave the page first: its scripts (the preview panel's polling) stop sending
    # requests, which would hold the live server's database while the test's is flushed.
    page.goto("about:blank")
    context.close()


@pytest.fixture
def axe(browser_page):
    """Run axe-core on the browser page; the serious and critical violations, by rule."""
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: `make test` installs it (npm install axe-core)")
    ARTIFACTS.mkdir(exist_ok=True)

    def run(name):
        browser_page.add_script_tag(path=str(AXE))
        results = browser_page.evaluate("axe.run(document, {resultTypes: ['violations']})")
        (ARTIFACTS / f"axe-{name}.json").write_text(json.dumps(results["violations"], indent=1))
        return {
            violation["id"]: [node["target"] for node in violation["nodes"]]
            for violation in results["violations"]
            if violation["impact"] in AXE_BLOCKING
        }

    return run


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
