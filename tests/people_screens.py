"""What the People tests share: the database stores, the screens, a fixed noon, four segments."""

from datetime import datetime, time, timedelta
from datetime import timezone as dt_timezone

from tests.factories import SegmentFactory

STORES = {"PROFILE_STORE": "database", "USER_PROFILE_STORE": "database"}
PEOPLE = "/admin/personalisation/people/"
# Noon of the last day whose noon has passed: scores decay with the real clock in between.
NOW = datetime.combine(
    (datetime.now(dt_timezone.utc) - timedelta(hours=12)).date(), time(12), dt_timezone.utc
)
SEGMENTS = [
    ("campus", [("utm", {"parameter": "campaign", "value": "campus"})], 0),
    (
        "investors",
        [("interest_score", {"interest": "investing", "operator": "gte", "score": 5})],
        30,
    ),
    ("browsers", [("pageviews", {"operator": "gte", "count": 3})], 0),
    ("customers", [("logged_in", {})], 0),
]


def make_segments():
    for slug, rules, holdout in SEGMENTS:
        SegmentFactory(name=slug.title(), slug=slug, rules=rules, holdout_percent=holdout)


def listed(response):
    """Every person the listing holds (all pages), as the view's paginator has them."""
    return list(response.context["paginator"].object_list)


def keys(people):
    return {person.key for person in people}
