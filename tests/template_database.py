"""One migrated SQLite database per set of migrations, copied into each test process.

Running every migration takes about 10 s a process; SQLite's backup API copies the
result into another process's in-memory test database in milliseconds. The copy is
kept in the temporary directory under a name made from the migration files, Django
and Wagtail, so a changed migration makes a new one. pytest-xdist workers take a lock:
the first migrates and saves its database, the others wait and copy it.
"""

import fcntl
import hashlib
import sqlite3
import tempfile
from contextlib import closing
from pathlib import Path

import django
import wagtail
from django.apps import apps
from django.core.management.commands import migrate
from django.db import connections

FOLDER = Path(tempfile.gettempdir()) / "wagtail-segments-test-databases"


def template_path():
    digest = hashlib.sha256(f"{django.__version__} {wagtail.__version__}".encode())
    for app in sorted(apps.get_app_configs(), key=lambda app: app.label):
        digest.update(app.label.encode())  # an app without migrations has tables too
        for path in sorted(Path(app.path).glob("migrations/*.py")):
            digest.update(path.read_bytes())
    return FOLDER / f"migrated-{digest.hexdigest()[:16]}.sqlite3"


def copy_migrated_database_once():
    """Make the next ``migrate`` (the test database's creation) copy the saved database
    when it is SQLite in memory; otherwise, or when none is saved yet, migrate (and save)."""
    original = migrate.Command.handle

    def handle(command, *args, **options):
        migrate.Command.handle = original
        connection = connections[options["database"]]
        if connection.vendor != "sqlite" or not connection.is_in_memory_db():
            return original(command, *args, **options)
        path = template_path()
        FOLDER.mkdir(exist_ok=True)
        with open(FOLDER / "lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            connection.ensure_connection()
            if path.exists():
                with closing(sqlite3.connect(path)) as saved:
                    saved.backup(connection.connection)
                return None
            original(command, *args, **options)
            unfinished = path.with_suffix(".partial")
            with closing(sqlite3.connect(unfinished)) as saved:
                connection.connection.backup(saved)
            unfinished.replace(path)
        return None

    migrate.Command.handle = handle
