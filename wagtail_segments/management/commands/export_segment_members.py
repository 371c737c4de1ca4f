"""Write the current members of chosen segments as CSV, for a nightly sync to a CRM.

Every stored profile is judged once, as of now and without a request (see
``wagtail_segments.people``), in batches; nothing runs on a visitor's request.
"""

import csv

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from wagtail_segments.admin.people import log_export
from wagtail_segments.models import Segment, StoredProfile
from wagtail_segments.people import BATCH, listable, people
from wagtail_segments.spreadsheets import escape_cell

COLUMNS = ["segment", "visitor_id", "user_id", "username", "email", "held_out"]


class Command(BaseCommand):
    help = "Export the current members of segments (by slug, or --all) as CSV."

    def add_arguments(self, parser):
        parser.add_argument("slugs", nargs="*", help="The segments to export.")
        parser.add_argument(
            "--all", action="store_true", dest="every", help="Every enabled segment."
        )
        parser.add_argument("--output", "-o", help="A file to write (default: standard output).")

    def handle(self, *args, slugs=(), every=False, output=None, **options):
        if not listable():
            raise CommandError(
                "Profiles are not kept in the database, so nobody can be listed: set "
                "WAGTAIL_SEGMENTS['PROFILE_STORE'] or ['USER_PROFILE_STORE'] to \"database\"."
            )
        segments = self.segments(slugs, every)
        if output:
            with open(output, "w", encoding="utf-8", newline="") as file:
                counts = self.write(file, segments)
        else:
            counts = self.write(self.stdout, segments)
        with transaction.atomic():
            for segment in segments:
                log_export(None, segment, "csv", counts[segment.slug])
        summary = ", ".join(f"{slug}: {count}" for slug, count in counts.items())
        self.stderr.write(f"Members exported ({summary}).")

    def segments(self, slugs, every):
        if every == bool(slugs):
            raise CommandError("Name the segments to export by slug, or give --all.")
        found = Segment.objects.order_by("-priority", "name")
        if every:
            return list(found.filter(enabled=True))
        found = list(found.filter(slug__in=slugs))
        missing = sorted(set(slugs) - {segment.slug for segment in found})
        if missing:
            raise CommandError(f"No segment with the slug(s): {', '.join(missing)}.")
        return found

    def write(self, file, segments):
        writer = csv.writer(file)
        writer.writerow(COLUMNS)
        counts = dict.fromkeys((segment.slug for segment in segments), 0)
        rows = StoredProfile.objects.order_by("key").iterator(chunk_size=BATCH)
        for person in people(rows, now=timezone.now()):
            for slug in counts:
                if person.segments.is_member(slug):
                    counts[slug] += 1
                    writer.writerow(
                        [
                            escape_cell(value)
                            for value in (
                                slug,
                                person.visitor_id,
                                person.user_pk or "",
                                person.username,
                                person.email,
                                person.segments.is_held_out(slug),
                            )
                        ]
                    )
        return counts
