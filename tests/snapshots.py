"""Every table's rows, read at once and put back in a few milliseconds.

The demo (``load_demo``) takes about a second to build through Wagtail's page
tree; ``loaddata`` of its dump about 0.15 s. Its rows, read straight from the
tables and written back with plain SQL inside the test's transaction, take
under 10 ms, which is what a test asking for the demo pays after the first.
The writes bypass the models, so what the models' signals would have cleared
is cleared here.
"""

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.core.management.color import no_style
from django.db import connection
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


def put_rows_back(snapshot):
    """Every table as ``snapshot`` has it, inside the current transaction."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for table, (columns, rows) in snapshot.items():
            cursor.execute(f"DELETE FROM {quote(table)}")
            if rows:
                names = ", ".join(quote(column) for column in columns)
                marks = ", ".join(["%s"] * len(columns))
                cursor.executemany(f"INSERT INTO {quote(table)} ({names}) VALUES ({marks})", rows)
        models = apps.get_models(include_auto_created=True)
        for statement in connection.ops.sequence_reset_sql(no_style(), models):
            cursor.execute(statement)
    ContentType.objects.clear_cache()
    Site.clear_site_root_paths_cache()
    engine.invalidate_definitions()
