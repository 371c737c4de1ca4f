"""Known visitors: profiles kept in the database, read and judged away from any request.

Only the database can be listed: it holds every visitor's profile with
``PROFILE_STORE = "database"`` and logged-in users' with
``USER_PROFILE_STORE = "database"`` (under ``user:<pk>``). A cache cannot be
enumerated: with ``USER_PROFILE_STORE = "cache"`` one user's profile can be
read under its key (their page in the user admin links to it) but nobody is
listed, and the cache store's visitors are never seen. The cookie store
keeps each profile in its visitor's browser: nobody's is here.

Each person is judged by the engine as of now without a request (see
``offline``), in batches of ``BATCH`` profiles whose users and groups are
loaded together.
"""

import ipaddress
import json
import re
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from itertools import islice

from django.contrib.auth import get_user_model

from .conf import segments_settings
from .visitor.offline import judged
from .visitor.profile import VisitorProfile
from .visitor.stores import CacheStore

BATCH = 500
USER_PREFIX = "user:"
TOP_INTERESTS = 3


def listable():
    """Whether profiles are kept in the database, where they can be listed."""
    return "database" in (segments_settings.PROFILE_STORE, segments_settings.USER_PROFILE_STORE)


def user_key(user):
    """The key a user's profile is kept under by the user store."""
    return f"{USER_PREFIX}{user.pk}"


def user_profiles_kept():
    """Whether logged-in users' profiles are kept under their account (the user store)."""
    return segments_settings.USER_PROFILE_STORE is not None


@dataclass
class Person:
    """One stored profile, its user (for a user's profile) and its segments judged now."""

    key: str
    profile: VisitorProfile
    user: object = None
    updated_at: datetime | None = None
    segments: object = None  # a ``SegmentSet``, set by ``people()``
    held_out: bool = False  # in the holdout of the segment a members list is about

    @property
    def user_pk(self):
        """The pk in a user's key (``user:12``), even when that user was deleted since."""
        return self.key[len(USER_PREFIX) :] if self.key.startswith(USER_PREFIX) else None

    @property
    def name(self):
        from wagtail.admin.utils import get_user_display_name

        if self.user is not None:
            return get_user_display_name(self.user)
        return f"deleted user {self.user_pk}" if self.user_pk else ""

    @property
    def email(self):
        return getattr(self.user, "email", "") or ""

    @property
    def username(self):
        return self.user.get_username() if self.user is not None else ""

    @property
    def visitor_id(self):
        return self.profile.visitor_id

    @property
    def label(self):
        return self.name or self.visitor_id

    @property
    def visits(self):
        return self.profile.visits

    @property
    def pageviews(self):
        return self.profile.pageviews

    @property
    def first_seen(self):
        return self.profile.datetime(self.profile.first_seen)

    @property
    def last_seen(self):
        return self.profile.datetime(self.profile.last_seen)

    @property
    def top_interests(self):
        top = islice(self.profile.scores.items(), TOP_INTERESTS)
        return ", ".join(f"{slug} ({score:g})" for slug, score in top)

    @cached_property
    def members_of(self):
        """Slugs of the segments this person belongs to now, in priority order."""
        return self.segments.slugs()

    @property
    def segment_names(self):
        names = self.segments.definitions.segments
        return ", ".join(names[slug].name for slug in self.members_of)


def profile_of(data):
    try:
        return VisitorProfile.from_data(data)
    except ValueError:
        return None  # not a profile this version reads: the request path starts afresh too


def people(rows, now=None, host=None):
    """A ``Person`` for each of ``rows`` (``StoredProfile``s), judged in batches."""
    rows = iter(rows)
    while batch := list(islice(rows, BATCH)):
        users = users_by_pk(row.key for row in batch)
        for row in batch:
            profile = profile_of(row.data)
            if profile is None:
                continue
            yield judged_person(row.key, profile, users, row.updated_at, now, host)


def users_by_pk(keys):
    """The users whose profiles have these keys, with their group names, by pk as text."""
    pks = [key[len(USER_PREFIX) :] for key in keys if key.startswith(USER_PREFIX)]
    if not pks:
        return {}
    User = get_user_model()
    try:
        found = User._default_manager.filter(pk__in=pks).prefetch_related("groups")
        return {str(user.pk): user for user in found}
    except (ValueError, TypeError):  # a key whose pk this user model cannot read
        return {}


def judged_person(key, profile, users, updated_at=None, now=None, host=None):
    user = users.get(key[len(USER_PREFIX) :]) if key.startswith(USER_PREFIX) else None
    groups = [group.name for group in user.groups.all()] if user is not None else ()
    return Person(
        key=key,
        profile=profile,
        user=user,
        updated_at=updated_at,
        segments=judged(profile, user=user, now=now, host=host, group_names=groups),
    )


def person(key, now=None, host=None):
    """The person whose profile is kept under ``key``, or None."""
    from .models import StoredProfile

    updated_at = None
    if key.startswith(USER_PREFIX) and segments_settings.USER_PROFILE_STORE == "cache":
        data = CacheStore().read(key)
    elif listable():
        row = StoredProfile.objects.filter(key=key).values_list("data", "updated_at").first()
        data, updated_at = row or (None, None)
    else:
        data = None
    profile = profile_of(data) if data is not None else None
    if profile is None:
        return None
    return judged_person(key, profile, users_by_pk([key]), updated_at, now, host)


# -- no raw IP address on a People screen ----------------------------------------------------

_IPV4 = re.compile(r"(?<![\d.])\d{1,3}(?:\.\d{1,3}){3}(?![\d.]*\d)")
_IPV6 = re.compile(r"(?<![0-9A-Fa-f:])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?![0-9A-Fa-f:])")
HIDDEN_ADDRESS = "[IP address]"


def without_ips(text):
    """``text`` with every IP address in it replaced by ``[IP address]``.

    The package never stores one; a site's own code might, in an attribute. A
    list or a mapping (an attribute's JSON value) comes back as JSON text; any
    other value as it is.
    """
    if isinstance(text, list | tuple | dict):
        text = json.dumps(text, ensure_ascii=False)
    if not isinstance(text, str):
        return text

    def hide(match):
        try:
            ipaddress.ip_address(match.group(0))
        except ValueError:
            return match.group(0)
        return HIDDEN_ADDRESS

    return _IPV6.sub(hide, _IPV4.sub(hide, text))
