"""Create or update segments from a JSON export; all or nothing."""

import json

from django.core.management.base import BaseCommand, CommandError

from wagtail_segments.portability import ImportProblems, import_definitions


class Command(BaseCommand):
    help = "Import segments from a JSON file made by export_segments."

    def add_arguments(self, parser):
        parser.add_argument("file")

    def handle(self, *args, file, **options):
        try:
            with open(file, encoding="utf-8-sig") as handle:
                data = json.load(handle)
        except (OSError, json.JSONDecodeError) as error:
            raise CommandError(f"{file}: {error}") from None
        try:
            created, updated = import_definitions(data)
        except ImportProblems as problems:
            raise CommandError(
                "Nothing was imported:\n" + "\n".join(f"  {p}" for p in problems.problems)
            ) from None
        self.stdout.write(f"{created} segments created, {updated} updated.")
