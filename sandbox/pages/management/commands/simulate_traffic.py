"""Send simulated visitors through the demo site, so the reports have numbers to show.

Each visitor is a real request sequence through Django (middleware, pages,
personalised content, events), spread over the last days with time travel;
the counts come from the package's own recorder. Every simulated visitor has
accepted the consent banner: those who decline count nothing.
"""

import random
from datetime import timedelta

import time_machine
from django.core.management.base import BaseCommand
from django.test import Client
from django.utils import timezone

from wagtail_segments.conf import segments_settings
from wagtail_segments.stats.recording import recorder

BROWSER_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0 Safari/537.36"
)
JOURNEYS = [
    # (weight, pages in order, what converts afterwards, for some: a page or an event)
    (4, ["/", "/checking-account/", "/savings/"], "/cart/"),
    (
        3,
        ["/campus/?utm_campaign=campus&utm_source=flyer", "/", "/student-account/"],
        "brochure-student-account",
    ),
    (3, ["/investing/", "/retirement/", "/investing/", "/"], "brochure-investing"),
    (2, ["/news/", "/", "/investing/"], "brochure-investing"),
]
CONVERSION_RATE = 0.4


class Command(BaseCommand):
    help = "Simulate visitors on the demo site over the last days (for the reports)."

    def add_arguments(self, parser):
        parser.add_argument("--visitors", type=int, default=150)
        parser.add_argument("--days", type=int, default=30)
        parser.add_argument("--seed", type=int, default=1872)

    def handle(self, *args, visitors, days, seed, **options):
        rng = random.Random(seed)
        weights = [weight for weight, *_ in JOURNEYS]
        today = timezone.now().replace(hour=12, minute=0, second=0, microsecond=0)
        autostart, recorder.autostart = recorder.autostart, False
        try:
            for number in range(visitors):
                moment = today - timedelta(days=rng.randrange(days), minutes=number)
                _weight, pages, goal = rng.choices(JOURNEYS, weights)[0]
                with time_machine.travel(moment, tick=False):
                    self.visit(pages, goal, rng)
            written = recorder.flush()
        finally:
            recorder.autostart = autostart
        self.stdout.write(f"{visitors} simulated visitors; {written} counters written.")

    def visit(self, pages, goal, rng):
        client = Client(HTTP_USER_AGENT=BROWSER_UA, HTTP_HOST="localhost")
        if segments_settings.CONSENT_COOKIE:  # each clicked Accept in the consent banner
            client.cookies[segments_settings.CONSENT_COOKIE] = "1"
        for path in pages:
            client.get(path)
        if rng.random() >= CONVERSION_RATE:
            return
        if goal.startswith("/"):
            client.get(goal)
        else:
            event = {"event": goal}
            client.post("/personalisation/event/", event, content_type="application/json")
