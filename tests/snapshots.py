"""Tables' rows, read at once and put back with plain SQL in a few milliseconds.

The demo (``load_demo``) takes about a second to build through Wagtail's page
tree, ``loaddata`` of its dump about 0.15 s; its rows, written back with plain
SQL, take under 10 ms. The same puts back what the migrations made after a
test that flushed the database, with the ids they had, so content type and
permission ids never change within a test run. The writes bypass the models,
so what the models' signals would have cleared is cleared here, and again
when a test ends: its rollback can bring back other rows than the snapshot's.
"""

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.core.management.color import no_style
from django.db import connection, transaction
from wagtail.models import Site

from wagtail_segments import engine

LEFT_OUT = {"django_migrations", "django_session"}


def read_rows():
    """``{table: (columns, rows)}`` of every table of an installed model."""
    tables = sorted(set(connection.introspection.django_table_names(only_existing=True)) - LEFT_OUT)
    quote = connection.ops.quote_name
    snapshot = {}
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"SELECT * FROM {quote(table)}")
            snapshot[table] = ([column[0] for column in cursor.description], cursor.fetchall())
    return snapshot


def changed_rows(before, after):
    """The tables of ``after`` whose rows differ from ``before``'s."""
    return {
        table: rows
        for table, rows in after.items()
        if sorted(map(repr, rows[1])) != sorted(map(repr, before.get(table, ([], []))[1]))
    }


def put_rows_back(snapshot):
    """The tables of ``snapshot`` as it has them, in one transaction (the foreign keys are
    checked when it ends) or a savepoint of the test's."""
    quote = connection.ops.quote_name
    with transaction.atomic(), connection.cursor() as cursor:
        for table, (columns, rows) in snapshot.items():
            cursor.execute(f"DELETE FROM {quote(table)}")
            if rows:
                names = ", ".join(quote(column) for column in columns)
                marks = ", ".join(["%s"] * len(columns))
                cursor.executemany(f"INSERT INTO {quote(table)} ({names}) VALUES ({marks})", rows)
        models = apps.get_models(include_auto_created=True)
        for statement in connection.ops.sequence_reset_sql(no_style(), models):
            cursor.execute(statement)
    forget_cached_rows()


def forget_cached_rows():
    """What this process remembers of rows that plain SQL changed, or a rollback undid."""
    ContentType.objects.clear_cache()
    Site.clear_site_root_paths_cache()
    engine.invalidate_definitions()
