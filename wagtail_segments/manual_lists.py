"""Manual segments' member lists from code: replace them, or add to them.

    from wagtail_segments.manual_lists import add_members, replace_members

    replace_members("vip", users=[ada], emails=["bo@example.com"], visitor_ids=["Xy3_k"])
    add_members("vip", usernames=["cy"])

Every value is checked as the admin's CSV import checks its rows (both go
through ``portability.resolve_members``): all or nothing, and
``ImportProblems`` names each value that does not fit
(``emails[1]: no user has the email “…”.``). A user is named by the account
itself, its username or its email address; a visitor by the id in their
profile.
"""

from django.contrib.auth import get_user_model

from .import_export import ImportProblems, resolve_members, write_members


def replace_members(segment, *, users=(), usernames=(), emails=(), visitor_ids=()):
    """Make these the whole list of ``segment`` (a ``Segment`` or its slug); returns its size."""
    segment = _segment(segment)
    members = _members(segment, users, usernames, emails, visitor_ids)
    return write_members(segment, _unique(members, set()), replace=True)


def add_members(segment, *, users=(), usernames=(), emails=(), visitor_ids=()):
    """Add these to the list of ``segment``; returns how many were not on it yet."""
    segment = _segment(segment)
    members = _members(segment, users, usernames, emails, visitor_ids)
    listed = set(segment.manual_members.values_list("user_id", "visitor_id"))
    return write_members(segment, _unique(members, listed), replace=False)


def _segment(segment):
    from .models import Segment

    if isinstance(segment, Segment):
        return segment
    found = Segment.objects.filter(slug=segment).first() if isinstance(segment, str) else None
    if found is None:
        raise ImportProblems([f"segment: no segment has the slug {segment!r}."])
    return found


def _members(segment, users, usernames, emails, visitor_ids):
    problems, entries = [], []
    User = get_user_model()
    for number, user in enumerate(_listed(users, "users", problems)):
        if not isinstance(user, User) or user.pk is None:
            problems.append(f"users[{number}]: expected a saved {User.__name__}, got {user!r}.")
        else:
            entries.append((f"users[{number}]", getattr(user, User.USERNAME_FIELD), "user"))
    for number, name in enumerate(_listed(usernames, "usernames", problems)):
        entries.append((f"usernames[{number}]", name, "user"))
    for number, email in enumerate(_listed(emails, "emails", problems)):
        if isinstance(email, str) and "@" not in email:
            problems.append(f"emails[{number}]: “{email}” is not an email address.")
        else:
            entries.append((f"emails[{number}]", email, "user"))
    for number, visitor_id in enumerate(_listed(visitor_ids, "visitor_ids", problems)):
        entries.append((f"visitor_ids[{number}]", visitor_id, "visitor"))
    try:
        members = resolve_members(segment, entries)
    except ImportProblems as error:
        problems += error.problems
    if problems:
        raise ImportProblems(problems)
    return members


def _listed(values, name, problems):
    """``values`` as a list; a problem for one text or one object where a list belongs."""
    if isinstance(values, str | bytes) or not hasattr(values, "__iter__"):
        problems.append(f"{name}: expected a list, got {type(values).__name__}.")
        return []
    return list(values)


def _unique(members, listed):
    """``members`` once each, leaving out those in ``listed`` ((user id, visitor id) pairs)."""
    kept = []
    for member in members:
        key = (member.user_id, member.visitor_id)
        if key not in listed:
            listed.add(key)
            kept.append(member)
    return kept
