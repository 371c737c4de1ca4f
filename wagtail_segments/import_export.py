"""Moving segments between sites: JSON definitions, and CSV member lists of manual segments.

An import checks everything first and writes nothing unless all of it is
valid; each problem names where it is (``segments[2].rules[0] (utm): …``).
Values are checked by the models' own validation (``full_clean``), after a
check that each has the JSON type its model field needs.
"""

import csv
import io
import json
from datetime import UTC
from graphlib import CycleError, TopologicalSorter

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from .fields import stored_rules
from .models import Interest, ManualMember, Segment
from .parsing import shape_problems
from .spreadsheets import escape_cell, unescape_cell

FORMAT = "wagtail_segments/1"
SEGMENT_FIELDS, SCHEDULE_FIELDS = Segment.SETTING_FIELDS, Segment.SCHEDULE_FIELDS
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
# Far deeper than an export goes (an ``any_of`` rule's value is at level 9), shallow enough
# for everything that reads rules recursively.
MAX_DEPTH = 20
MAX_PROBLEMS = 100


class ImportProblems(Exception):
    """What is wrong with an import, one readable line each (at most ``MAX_PROBLEMS``)."""

    def __init__(self, problems):
        if len(problems) > MAX_PROBLEMS:
            more = len(problems) - MAX_PROBLEMS
            problems = [*problems[:MAX_PROBLEMS], f"… and {more:,} more problems."]
        self.problems = problems
        super().__init__("\n".join(problems))


def export_definitions(segments):
    """A JSON-ready dict of ``segments`` and the interests their rules use."""

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


# -- reading a definitions file ----------------------------------------------------------------


def read_document(text):
    """The JSON document in ``text``; ``ImportProblems`` if it is not JSON this import reads."""
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as error:
        problem = f"line {error.lineno}, column {error.colno}: not JSON ({error.msg})."
    except RecursionError:
        problem = f"nested deeper than {MAX_DEPTH} levels."
    except ValueError as error:  # NaN or Infinity; an integer of more than 4,300 digits
        problem = f"not a JSON value this import reads ({error})."
    raise ImportProblems([problem])


def _refuse_constant(name):
    raise ValueError(f"{name} is not a number")


def _json_type(field):
    """The JSON type a model field's value has in a file, and its name for messages."""
    if isinstance(field, models.BooleanField):
        return bool, "true or false"
    if isinstance(field, models.IntegerField):
        return int, "a whole number"
    return str, "text"  # text, slugs, choices, and moments in ISO 8601


def _assign(instance, item, fields, where, problems):
    """Copy the ``fields`` present in ``item`` onto ``instance``; refuse wrong JSON types."""
    for name in fields:
        if name not in item:
            continue
        value, field = item[name], instance._meta.get_field(name)
        kind, words = _json_type(field)
        if type(value) is kind or (value is None and field.null):
            setattr(instance, name, value)
        else:
            problems.append(f"{where}.{name}: expected {words}{' or null' if field.null else ''}.")


def _moment(field, value, where, problems):
    """``value`` as the model field reads it, in the current time zone if it names none."""
    if value in (None, ""):
        return None
    try:
        moment = field.to_python(value)
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment)
        moment.astimezone(UTC)  # databases store it in UTC: the year must stay in range
    except ValidationError as error:
        problems.extend(f"{where}: {message}" for message in error.messages)
    except OverflowError:
        problems.append(f"{where}: “{value}” is out of range.")
    else:
        return moment
    return None


def _model_problems(instance, where):
    """The model's own validation (field validators and ``clean()``), by place."""
    try:
        instance.full_clean(exclude=["rules"], validate_unique=False)
    except ValidationError as error:
        return [
            f"{where}.{field}: {message}"
            for field, messages in error.message_dict.items()
            for message in messages
        ]
    return []


def _items(data, key, problems):
    """The list ``data[key]`` (none if absent); a problem if it is something else."""
    items = data.get(key)
    if items is None:
        return []
    if not isinstance(items, list):
        problems.append(f"{key}: expected a list.")
        return []
    return items


def _objects(items, where, known_fields, problems):
    """``(place, item)`` of the objects in ``items``; a problem for anything else."""
    for number, item in enumerate(items):
        here = f"{where}[{number}]"
        if not isinstance(item, dict):
            problems.append(f"{here}: expected an object.")
            continue
        unknown = set(item) - set(known_fields)
        if unknown:
            problems.append(f"{here}: unknown field(s) {', '.join(sorted(unknown))}.")
        yield here, item


def _slugs_twice(items, problems):
    """The text slugs of ``items``; a problem for each slug that appears twice."""
    slugs, seen = [], set()
    for here, item in items:
        slug = item.get("slug")
        if isinstance(slug, str):
            if slug in seen:
                problems.append(f"{here}.slug: “{slug}” appears twice in the file.")
            seen.add(slug)
            slugs.append(slug)
    return slugs


def read_interests(data, problems):
    """The interests of ``data`` as unsaved model instances; problems are appended."""

    stored = {interest.slug: interest for interest in Interest.objects.all()}
    items = _items(data, "interests", problems)
    items = list(_objects(items, "interests", INTEREST_FIELDS, problems))
    _slugs_twice(items, problems)
    interests = []
    for where, item in items:
        interest = stored.get(item.get("slug")) if isinstance(item.get("slug"), str) else None
        interest = interest or Interest()
        _assign(interest, item, INTEREST_FIELDS, where, problems)
        problems += _model_problems(interest, where)
        interests.append(interest)
    return interests


def read_segments(data, problems):
    """The segments of ``data`` as unsaved model instances; problems are appended.

    Rules are checked against the interests and segments in the database and the
    file, and the segments, with those in the database, must not contain each other.
    """

    stored = {segment.slug: segment for segment in Segment.objects.all()}
    fields = (*SEGMENT_FIELDS, *SCHEDULE_FIELDS, "rules")
    items = list(_objects(_items(data, "segments", problems), "segments", fields, problems))
    known = set(_slugs_twice(items, problems)) | set(stored)
    segments, dependencies = [], {}
    for where, item in items:
        slug = item.get("slug")
        segment = (stored.pop(slug, None) if isinstance(slug, str) else None) or Segment()
        _assign(segment, item, (*SEGMENT_FIELDS, *SCHEDULE_FIELDS), where, problems)
        for name in SCHEDULE_FIELDS:
            if isinstance(getattr(segment, name), str):
                field = Segment._meta.get_field(name)
                value = _moment(field, getattr(segment, name), f"{where}.{name}", problems)
                setattr(segment, name, value)
        if "rules" in item:
            rules, depends_on = read_rules(item["rules"], f"{where}.rules", known, problems)
            segment.rules = rules
        else:
            depends_on = segment.dependencies()
        # Segment.clean() looks for loops through the database, one query and walk per
        # segment: quadratic over a file. The import walks the whole graph once instead.
        segment.find_cycle = lambda: None
        problems += _model_problems(segment, where)
        segments.append(segment)
        if isinstance(segment.slug, str):
            dependencies[segment.slug] = depends_on
    for segment in stored.values():  # in the database, not in the file
        dependencies[segment.slug] = segment.dependencies()
    problems += loop_problems(dependencies)
    return segments


def read_rules(rules, where, known_segments, problems):
    """The rules as ``(type, value)`` pairs, and the slugs of the segments they depend on.

    Each rule is validated by its own ``prepare()``, as when an editor saves it; a
    problem names the rule and, when the rule says which, the field.
    """
    from .rules.registry import registry

    if not isinstance(rules, list):
        problems.append(f"{where}: expected a list.")
        return [], set()
    pairs, depends_on = [], set()
    for number, item in enumerate(rules):
        here = f"{where}[{number}]"
        if not isinstance(item, dict) or not isinstance(item.get("type"), str):
            problems.append(f'{here}: expected {{"type": …, "value": {{…}}}}.')
            continue
        rule, value = registry.get(item["type"]), item.get("value") or {}
        if rule is None:
            problems.append(f"{here}: no rule {item['type']!r} is registered.")
        elif not isinstance(value, dict):
            problems.append(f"{here}.value: expected an object.")
        elif not isinstance(value.get("negate", False), bool):
            problems.append(f"{here}.value.negate: expected true or false.")
        elif unknown := sorted(set(value) - {"negate", *(name for name, _ in rule.fields)}):
            problems += [f"{here}.value.{name}: not a field of this rule." for name in unknown]
        else:
            slugs = _rule_dependencies(rule, value, f"{here}.value", problems)
            if slugs is not None:
                problems += [
                    f"{here}: no segment “{slug}” here or in the file."
                    for slug in sorted(slugs - known_segments)
                ]
                depends_on |= slugs
                pairs.append((rule.slug, value))
    return pairs, depends_on


def _rule_dependencies(rule, value, where, problems):
    """The slugs a valid rule value depends on; ``None`` and problems if it is not valid."""
    try:
        slugs = set(rule.depends_on(rule.prepare(rule.with_defaults(value))))
    except ValidationError as error:
        if hasattr(error, "error_dict"):
            problems.extend(
                f"{where}.{field}: {message}"
                for field, messages in error.message_dict.items()
                for message in messages
            )
        else:
            problems.extend(f"{where}: {message}" for message in error.messages)
        return None
    except Exception as error:  # a rule's code meeting a value it never expected
        problems.append(f"{where}: not a value this rule takes ({error or type(error).__name__}).")
        return None
    if not all(isinstance(slug, str) for slug in slugs):
        problems.append(f"{where}: segments are named by their slug, as text.")
        return None
    return slugs


def loop_problems(dependencies):
    """A loop among ``dependencies`` (slug → the slugs its rules need), in one linear walk."""
    try:
        TopologicalSorter(dependencies).prepare()
    except CycleError as error:
        # graphlib lists each slug before the one whose rules need it.
        return [f"segments: these would contain each other: {' → '.join(reversed(error.args[1]))}"]
    return []


def import_definitions(data):
    """Create or update the interests and segments in ``data``; all or nothing.

    Everything is checked inside one transaction (the segments' rules against
    the imported interests), which is rolled back if anything is wrong.
    Returns ``(created, updated)`` counts of segments.
    """
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ImportProblems([f'format: expected a JSON object with "format": "{FORMAT}".'])
    problems = shape_problems(data, max_depth=MAX_DEPTH)
    if problems:
        raise ImportProblems(problems)
    with transaction.atomic():
        interests = read_interests(data, problems)
        if not problems:
            for interest in interests:
                interest.save()
        segments = read_segments(data, problems)
        if problems:
            raise ImportProblems(problems)  # leaving the block rolls the interests back
        created = sum(1 for segment in segments if segment.pk is None)
        for segment in segments:
            segment.save()
    return created, len(segments) - created


# -- manual segments ------------------------------------------------------------------------

MEMBER_HEADINGS = ("member", "username", "email", "visitor id", "visitor_id")
MEMBER_KINDS = ("user", "visitor")


def read_member_rows(text):
    """``(line, member, kind)`` for each row of the CSV ``text``.

    The columns are those ``export_members`` writes: the member, then optionally its
    kind (``user`` or ``visitor``), under an optional header line (``member,kind``).
    Raises ``ImportProblems`` naming each line that does not fit.
    """
    reader = csv.reader(io.StringIO(text))
    rows, problems, columns = [], [], None
    try:
        for row in reader:
            cells = [unescape_cell(cell.strip()) for cell in row]
            while cells and not cells[-1]:
                cells.pop()
            if not cells:
                continue
            line = reader.line_num
            if columns is None and cells[0].lower() in MEMBER_HEADINGS:
                columns = len(cells)
                if [cell.lower() for cell in cells[1:]] not in ([], ["kind"]):
                    problems.append(
                        f"line {line}: the columns must be “member” and, optionally, “kind”; "
                        f"this file has {', '.join(f'“{cell}”' for cell in cells)}."
                    )
                continue
            columns = columns or len(MEMBER_KINDS)
            kind = cells[1].lower() if len(cells) > 1 else ""
            if len(cells) > columns:
                problems.append(f"line {line}: {len(cells)} columns, expected at most {columns}.")
            elif kind and kind not in MEMBER_KINDS:
                problems.append(
                    f"line {line}: the second column (kind) must be “user” or “visitor”, "
                    f"not “{cells[1]}”."
                )
            else:
                rows.append((line, cells[0], kind))
    except csv.Error as error:  # a NUL byte, on Python before 3.13
        problems.append(f"line {reader.line_num}: not CSV ({error}).")
    if problems:
        raise ImportProblems(problems)
    return rows


def import_members(segment, text):
    """Replace the manual list of ``segment`` with the CSV ``text`` (usernames, emails or
    visitor ids: see ``read_member_rows``). Returns the number of members; raises
    ``ImportProblems`` and changes nothing if any line is wrong."""
    rows = read_member_rows(text)
    entries = [(f"line {line}", value, kind) for line, value, kind in rows]
    members = resolve_members(segment, entries)
    return write_members(segment, members, replace=True)


def resolve_members(segment, entries):
    """Unsaved ``ManualMember``s of ``segment`` for ``(place, value, kind)`` entries.

    ``kind`` is "user" (a username or an email address), "visitor" (a visitor id)
    or "" (a user when one has that username or email, else a visitor id; an
    address with "@" must be a user's). The admin's CSV import and the Python
    API (``manual_lists``) both come here: raises ``ImportProblems`` naming each
    place that does not fit, and nothing is written.
    """

    if len(entries) > MAX_MEMBERS:
        raise ImportProblems([f"At most {MAX_MEMBERS:,} members per import."])
    problems = [
        f"{place}: {problem}"
        for place, value, _kind in entries
        if (problem := member_value_problem(value))
    ]
    if problems:
        raise ImportProblems(problems)  # before any of it reaches the database
    values = [value for _place, value, _kind in entries]
    User = get_user_model()
    name_field = User.USERNAME_FIELD
    users = {}
    for user in User.objects.filter(
        Q(**{f"{name_field}__in": values}) | Q(email__in=[v for v in values if "@" in v])
    ):
        users[getattr(user, name_field)] = user
        if user.email:
            users.setdefault(user.email, user)
    members = []
    for place, value, kind in entries:
        if kind != "visitor" and value in users:
            members.append(ManualMember(segment=segment, user=users[value]))
        elif kind == "user" or (not kind and "@" in value):
            known_as = "email" if "@" in value else "username"
            problems.append(f"{place}: no user has the {known_as} “{value}”.")
        elif len(value) > 64:
            problems.append(f"{place}: “{value[:20]}…” is too long for a visitor id.")
        else:
            members.append(ManualMember(segment=segment, visitor_id=value))
    if problems:
        raise ImportProblems(problems)
    return members


def member_value_problem(value):
    """What keeps ``value`` from naming a member, or "" (text, not blank, printable)."""
    if not isinstance(value, str):
        return f"expected text, not {type(value).__name__}."
    if not value:
        return "no member given."
    if not value.isprintable():
        return "a member cannot hold control characters."
    return ""


def write_members(segment, members, replace):
    """Save ``members`` to the list of ``segment`` (in place of it with ``replace``)."""
    from .engine import invalidate_after_change

    with transaction.atomic():
        if replace:
            ManualMember.objects.filter(segment=segment).delete()
        ManualMember.objects.bulk_create(members)
    invalidate_after_change()
    return len(members)


def export_members(segment):
    """The manual list of ``segment`` as CSV text, which ``import_members`` reads back."""
    output = io.StringIO()
    writer = csv.writer(output)
    writer.writerow(["member", "kind"])
    name_field = get_user_model().USERNAME_FIELD
    for member in segment.manual_members.select_related("user").order_by("pk"):
        if member.user_id:
            writer.writerow([escape_cell(getattr(member.user, name_field)), "user"])
        else:
            writer.writerow([escape_cell(member.visitor_id), "visitor"])
    return output.getvalue()
