"""Moving segments between sites: JSON definitions, and CSV member lists of manual segments.

An import checks everything first and writes nothing unless all of it is
valid; each problem names where it is (``segments[2].rules[0] (utm): …``).
"""

import csv
import io

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils.dateparse import parse_datetime

from .engine import compile_rule
from .fields import stored_rules

FORMAT = "wagtail_segments/1"
SEGMENT_FIELDS = (
    "name",
    "slug",
    "description",
    "enabled",
    "priority",
    "match",
    "sticky_days",
    "holdout_percent",
)
INTEREST_FIELDS = (
    "name",
    "slug",
    "group",
    "points",
    "page_tags",
    "referrer_domains",
    "utm_campaigns",
)
MAX_MEMBERS = 100_000


class ImportProblems(Exception):
    def __init__(self, problems):
        self.problems = problems
        super().__init__("\n".join(problems))


def export_definitions(segments):
    """A JSON-ready dict of ``segments`` and the interests their rules use."""
    from .models import Interest

    return {
        "format": FORMAT,
        "interests": [
            {field: getattr(interest, field) for field in INTEREST_FIELDS}
            for interest in Interest.objects.order_by("slug")
        ],
        "segments": [
            {
                **{field: getattr(segment, field) for field in SEGMENT_FIELDS},
                "active_from": segment.active_from.isoformat() if segment.active_from else None,
                "active_until": segment.active_until.isoformat() if segment.active_until else None,
                "rules": [
                    {"type": rule.get("type"), "value": rule.get("value")}
                    for rule in stored_rules(segment.rules)
                ],
            }
            for segment in segments
        ],
    }


def _model_problems(instance, where):
    try:
        instance.full_clean(exclude=["rules"], validate_unique=False)
    except ValidationError as error:
        return [
            f"{where}.{field}: {message}"
            for field, messages in error.message_dict.items()
            for message in messages
        ]
    return []


def _datetime(value, where, problems):
    if value in (None, ""):
        return None
    moment = parse_datetime(value) if isinstance(value, str) else None
    if moment is None:
        problems.append(f"{where}: “{value}” is not an ISO date and time.")
    return moment


def read_interests(data, problems):
    """The interests of ``data`` as unsaved model instances; problems are appended."""
    from .models import Interest

    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ImportProblems([f'format: expected a JSON object with "format": "{FORMAT}".'])
    interests = []
    for number, item in enumerate(data.get("interests") or [], start=0):
        where = f"interests[{number}]"
        if not isinstance(item, dict):
            problems.append(f"{where}: expected an object.")
            continue
        unknown = set(item) - set(INTEREST_FIELDS)
        if unknown:
            problems.append(f"{where}: unknown field(s) {', '.join(sorted(unknown))}.")
        interest = Interest.objects.filter(slug=item.get("slug")).first() or Interest()
        for field in INTEREST_FIELDS:
            if field in item:
                setattr(interest, field, item[field])
        problems += _model_problems(interest, where)
        interests.append(interest)
    return interests


def read_segments(data, problems):
    """The segments of ``data`` as unsaved model instances; problems are appended.

    Rules are checked against the interests and segments in the database and the file.
    """
    from .models import Segment

    segments = []
    slugs_in_file = [
        item.get("slug") for item in data.get("segments") or [] if isinstance(item, dict)
    ]
    known_segments = set(slugs_in_file) | set(Segment.objects.values_list("slug", flat=True))
    for number, item in enumerate(data.get("segments") or [], start=0):
        where = f"segments[{number}]"
        if not isinstance(item, dict):
            problems.append(f"{where}: expected an object.")
            continue
        unknown = set(item) - {*SEGMENT_FIELDS, "active_from", "active_until", "rules"}
        if unknown:
            problems.append(f"{where}: unknown field(s) {', '.join(sorted(unknown))}.")
        if slugs_in_file.count(item.get("slug")) > 1:
            problems.append(f"{where}.slug: “{item.get('slug')}” appears twice in the file.")
        segment = Segment.objects.filter(slug=item.get("slug")).first() or Segment()
        for field in SEGMENT_FIELDS:
            if field in item:
                setattr(segment, field, item[field])
        segment.active_from = _datetime(item.get("active_from"), f"{where}.active_from", problems)
        segment.active_until = _datetime(
            item.get("active_until"), f"{where}.active_until", problems
        )
        rules = item.get("rules") or []
        if not isinstance(rules, list):
            problems.append(f"{where}.rules: expected a list.")
            rules = []
        found = rule_problems(rules, where, known_segments)
        problems += found
        if not found:
            segment.rules = [(rule["type"], rule.get("value") or {}) for rule in rules]
        problems += _model_problems(segment, where)
        segments.append(segment)
    return segments


def rule_problems(rules, where, known_segments):
    problems = []
    for number, rule in enumerate(rules):
        here = f"{where}.rules[{number}]"
        if not isinstance(rule, dict) or not isinstance(rule.get("type"), str):
            problems.append(f'{here}: expected {{"type": …, "value": {{…}}}}.')
            continue
        here = f"{here} ({rule['type']})"
        compiled = compile_rule(rule["type"], rule.get("value"))
        if compiled.error:
            problems.append(f"{here}: {compiled.error}")
            continue
        for slug in compiled.rule.depends_on(compiled.value):
            if slug not in known_segments:
                problems.append(f"{here}: no segment “{slug}” here or in the file.")
    return problems


def import_definitions(data):
    """Create or update the interests and segments in ``data``; all or nothing.

    Everything is checked inside one transaction (the segments' rules against
    the imported interests) and rolled back at the first sign of a problem.
    Returns ``(created, updated)`` counts of segments.
    """
    problems = []
    with transaction.atomic():
        interests = read_interests(data, problems)
        if not problems:
            for interest in interests:
                interest.save()
        segments = read_segments(data, problems)
        if not problems:
            created = sum(1 for segment in segments if segment.pk is None)
            for segment in segments:
                segment.save()
            problems += [
                f"segments: these would contain each other: {' → '.join(cycle)}"
                for cycle in (segment.find_cycle() for segment in segments)
                if cycle
            ]
        if problems:
            transaction.set_rollback(True)
    if problems:
        raise ImportProblems(problems)
    return created, len(segments) - created


# -- manual segments ------------------------------------------------------------------------


def import_members(segment, text):
    """Replace the manual list of ``segment`` with the CSV ``text`` (one column: usernames,
    emails or visitor ids). Returns the number of members; raises ``ImportProblems``."""
    from .models import ManualMember

    rows = [row[0].strip() for row in csv.reader(io.StringIO(text)) if row and row[0].strip()]
    if rows and rows[0].lower() in ("member", "username", "email", "visitor id", "visitor_id"):
        rows = rows[1:]  # a header
    if len(rows) > MAX_MEMBERS:
        raise ImportProblems([f"At most {MAX_MEMBERS:,} members per import."])
    User = get_user_model()
    name_field = User.USERNAME_FIELD
    users = {}
    for user in User.objects.filter(
        Q(**{f"{name_field}__in": rows}) | Q(email__in=[r for r in rows if "@" in r])
    ):
        users[getattr(user, name_field)] = user
        if user.email:
            users.setdefault(user.email, user)
    problems, members = [], []
    for line, value in enumerate(rows, start=1):
        if value in users:
            members.append(ManualMember(segment=segment, user=users[value]))
        elif "@" in value:
            problems.append(f"line {line}: no user has the email “{value}”.")
        elif len(value) > 64:
            problems.append(f"line {line}: “{value[:20]}…” is too long for a visitor id.")
        else:
            members.append(ManualMember(segment=segment, visitor_id=value))
    if problems:
        raise ImportProblems(problems)
    with transaction.atomic():
        ManualMember.objects.filter(segment=segment).delete()
        ManualMember.objects.bulk_create(members)
    from .engine import invalidate_after_change

    invalidate_after_change()
    return len(members)


def export_members(segment):
    """The manual list of ``segment`` as CSV text."""
    output = io.StringIO()
    writer = csv.writer(output)
    writer.writerow(["member", "kind"])
    name_field = get_user_model().USERNAME_FIELD
    for member in segment.manual_members.select_related("user").order_by("pk"):
        if member.user_id:
            writer.writerow([getattr(member.user, name_field), "user"])
        else:
            writer.writerow([member.visitor_id, "visitor"])
    return output.getvalue()
