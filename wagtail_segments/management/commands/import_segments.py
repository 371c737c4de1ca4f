"""Create or update segments from a JSON export; all or nothing."""

from django.core.management.base import BaseCommand, CommandError

from wagtail_segments.import_export import ImportProblems, import_definitions, read_document


class Command(BaseCommand):
    help = "Import segments from a JSON file made by export_segments."

    def add_arguments(self, parser):
        parser.add_argument("file")

    def handle(self, *args, file, **options):
        try:
            with open(file, "rb") as handle:
                text = handle.read().decode("utf-8-sig")
        except OSError as error:
            raise CommandError(f"{file}: {error}") from None
        except UnicodeDecodeError:
            raise CommandError(f"{file}: not UTF-8 text.") from None
        try:
            created, updated = import_definitions(read_document(text))
        except ImportProblems as problems:
            raise CommandError(
                f"{file}: nothing was imported:\n" + "\n".join(f"  {p}" for p in problems.problems)
            ) from None
        self.stdout.write(f"{created} segments created, {updated} updated.")
