"""Editors on the live site: who sees the cockpit, and "view as" segments.

"View as" lives in a signed cookie that only a user with the permission to
view segments can set, and that is honoured only for such a user: anyone
else sending it, or any query parameter, changes nothing.
"""

from django.conf import settings
from django.core import signing
from django.db import DatabaseError

from .. import permissions
from ..cookies import delete_cookie, set_cookie
from ..log import log_once

VIEW_AS_COOKIE = "wagtail_segments_view_as"
VIEW_AS_SALT = "wagtail_segments.view_as"
VIEW_AS_MAX_AGE = 12 * 60 * 60


def is_editor(request, permission=None):
    """Whether this request comes from a user with ``permission``, by default to view segments.

    A request without a session cookie is nobody's: answering costs no
    session lookup, so visitors' pages stay free of ``Vary: Cookie``. A
    session the database cannot read (a cookie full of NUL bytes, which
    PostgreSQL refuses) is nobody's either.
    """
    if settings.SESSION_COOKIE_NAME not in request.COOKIES:
        return False
    user = getattr(request, "user", None)
    try:
        if user is None or not user.is_authenticated:
            return False
        if permission is None:
            return permissions.segments.user_has_permission(user, "view")
        return user.has_perm(permission)
    except DatabaseError:
        log_once("editor-session", "wagtail_segments cannot read a session", exc_info=True)
        return False


def view_as_slugs(request):
    """The segments an editor chose to view the site as, or None."""
    value = request.COOKIES.get(VIEW_AS_COOKIE)
    if not value or not is_editor(request):
        return None
    try:
        slugs = signing.loads(value, salt=VIEW_AS_SALT, max_age=VIEW_AS_MAX_AGE)
    except signing.BadSignature:
        return None
    if not isinstance(slugs, list) or not all(isinstance(slug, str) for slug in slugs):
        return None
    return frozenset(slugs)


def set_view_as(request, response, slugs):
    value = signing.dumps(sorted(slugs), salt=VIEW_AS_SALT)
    set_cookie(request, response, VIEW_AS_COOKIE, value, VIEW_AS_MAX_AGE)


def stop_view_as(response):
    delete_cookie(response, VIEW_AS_COOKIE)
