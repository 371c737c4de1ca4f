"""Delete daily stats older than ``STATS_RETENTION_DAYS`` (or ``--days``)."""

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from wagtail_segments.conf import segments_settings
from wagtail_segments.models import GoalDay, SegmentDay, SiteDay, VariantDay


class Command(BaseCommand):
    help = "Delete personalisation stats older than the retention period."

    def add_arguments(self, parser):
        parser.add_argument(
            "--days", type=int, help="Keep this many days (default: STATS_RETENTION_DAYS)."
        )

    def handle(self, *args, days=None, **options):
        days = segments_settings.STATS_RETENTION_DAYS if days is None else days
        if not isinstance(days, int) or days < 1:
            raise CommandError(f"Keep at least one day of stats, not {days!r}.")
        before = timezone.localdate() - timedelta(days=days - 1)
        deleted = sum(
            model.objects.filter(day__lt=before).delete()[0]
            for model in (SiteDay, SegmentDay, VariantDay, GoalDay)
        )
        self.stdout.write(f"Deleted {deleted} daily rows from before {before.isoformat()}.")
