"""The migrations match the models and run on Wagtail 7.4 LTS as on Wagtail 8.

`makemigrations` on Wagtail 8 writes `settings.WAGTAIL_PAGE_MODEL` and a dependency
on Wagtail 8's newest wagtailcore migration; neither exists on Wagtail 7.4, so a
generated migration needs the two edits these tests ask for.
"""

import runpy
import sys
from io import StringIO

from django.conf import settings
from django.core.management import call_command
from django.db.migrations.loader import MigrationLoader

OUR_APPS = ("wagtail_segments", "testapp", "pages")
# The newest wagtailcore migration Wagtail 7.4 ships; Wagtail 8 adds 0098_apitoken.
LAST_WAGTAILCORE_MIGRATION_OF_7_4 = "0097_baselogentry_uuid_action_timestamp_indexes"


def our_migrations():
    loader = MigrationLoader(None, ignore_no_migrations=True)
    return [m for (app, _), m in loader.disk_migrations.items() if app in OUR_APPS]


def test_no_missing_migrations(db):
    out = StringIO()
    # --check exits non-zero (SystemExit) when a model change lacks a migration.
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


def test_migrations_need_no_wagtailcore_migration_newer_than_wagtail_7_4():
    too_new = [
        (m.app_label, m.name, name)
        for m in our_migrations()
        for app, name in m.dependencies
        if app == "wagtailcore" and name != "__first__" and name > LAST_WAGTAILCORE_MIGRATION_OF_7_4
    ]
    assert too_new == []


def test_migrations_name_the_page_model_through_swapper(monkeypatch):
    # swapper.get_model_name("wagtailcore", "Page") and swapper.dependency(...) work on
    # both versions; Wagtail 7.4 has no WAGTAIL_PAGE_MODEL setting, so each file runs
    # without it (swapper sets it again on Wagtail 8, hence the delete before each).
    for migration in our_migrations():
        monkeypatch.delattr(settings, "WAGTAIL_PAGE_MODEL", raising=False)
        runpy.run_path(sys.modules[type(migration).__module__].__file__)
