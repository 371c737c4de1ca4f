"""Write segment definitions (and the interests they use) as JSON."""

import json

from django.core.management.base import BaseCommand, CommandError

from wagtail_segments.import_export import export_definitions
from wagtail_segments.models import Segment


class Command(BaseCommand):
    help = "Export segments as JSON (all, or those named by slug)."

    def add_arguments(self, parser):
        parser.add_argument("slugs", nargs="*", help="Only these segments.")
        parser.add_argument("--output", "-o", help="A file to write (default: standard output).")

    def handle(self, *args, slugs=(), output=None, **options):
        segments = Segment.objects.order_by("-priority", "name")
        if slugs:
            segments = segments.filter(slug__in=slugs)
            missing = sorted(set(slugs) - set(segments.values_list("slug", flat=True)))
            if missing:
                raise CommandError(f"No segment with the slug(s): {', '.join(missing)}.")
        text = json.dumps(export_definitions(segments), indent=2, ensure_ascii=False, default=str)
        if output:
            with open(output, "w", encoding="utf-8") as file:
                file.write(text + "\n")
        else:
            self.stdout.write(text)
