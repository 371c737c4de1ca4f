"""Another process on this test's database and cache: what it compiles of the partners segment."""

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent

SUBPROCESS = """
import json, os, sys
sys.path[:0] = [".", "sandbox"]
import wagtail.hooks
search_for_hooks = wagtail.hooks.search_for_hooks
# Nothing loads the project's hooks while Django sets up (a command, a worker): with
# HOOKS=unloaded the package may load them later; with HOOKS=unavailable they never load.
wagtail.hooks.search_for_hooks = lambda: None
import django
django.setup()
if os.environ["HOOKS"] == "unloaded":
    wagtail.hooks.search_for_hooks = search_for_hooks
from wagtail_segments.engine import load_definitions
from wagtail_segments.models import Segment
if os.environ.get("SAVE_FIRST"):  # (compiling after a save: it gives a new version stamp)
    Segment.objects.get(slug="partners").save()
compiled = load_definitions().segments["partners"]
print(json.dumps({
    "errors": [rule.error for rule in compiled.rules],
    "stored": [item["type"] for item in Segment.objects.get(slug="partners").rules.raw_data],
}))
"""


def database_url_for_another_process(tmp_path):
    """The test database, reachable from another process (a copy of it, for SQLite)."""
    if connection.vendor == "sqlite":
        path = tmp_path / "shared.sqlite3"
        connection.ensure_connection()
        with sqlite3.connect(path) as copy:
            connection.connection.backup(copy)
        return f"sqlite:///{path}"
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def run_another_process(tmp_path, hooks, save_first=False):
    """Run ``SUBPROCESS`` on this test's database and cache (``shared_redis``); its answer."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "REDIS_URL": settings.CACHES["default"]["LOCATION"],  # the cache this process uses
        "DATABASE_URL": database_url_for_another_process(tmp_path),
        "HOOKS": hooks,
    }
    env.pop("SAVE_FIRST", None)
    if save_first:
        env["SAVE_FIRST"] = "1"
    done = subprocess.run(
        [sys.executable, "-c", SUBPROCESS],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])
