"""Settings of the site tests/test_varnish.py serves with gunicorn behind Varnish.

The test settings with a throwaway SQLite database and file cache, both in
``WAGTAIL_SEGMENTS_PROXY_DIR``, shared by every gunicorn worker. The database
is made from the models (``migrate --run-syncdb``): running every migration
would take most of the test's time.
"""

import os
from pathlib import Path

from tests.settings import *  # noqa: F403

SITE_DIR = Path(os.environ["WAGTAIL_SEGMENTS_PROXY_DIR"])

DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": SITE_DIR / "site.sqlite3",
        # Two workers write page views and stats: wait for the lock, never fail on it.
        "OPTIONS": {
            "init_command": "PRAGMA journal_mode=WAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        },
    }
}


class NoMigrations:
    def __contains__(self, app_label):
        return True

    def __getitem__(self, app_label):
        return None


MIGRATION_MODULES = NoMigrations()
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": SITE_DIR / "cache",
    }
}
WAGTAIL_SEGMENTS = {
    "CACHE_MODE": "segments",
    "PROFILE_STORE": "database",
}
# gunicorn's log (the test shows it when a request fails) gets Django's errors.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["stderr"], "level": "WARNING"},
}
