"""Judging a profile away from its visitor's request: the segment tester, People, commands.

The engine judges a request and a profile; away from the visitor the request
is built with Django's ``RequestFactory``. Rules about the profile (visits,
page views, scores, events, attributes, the current visit's landing page,
referrer and UTM parameters) judge it as the visitor's own requests would;
rules about the request itself (device, browser, language, country, cookies,
query parameters) see only what the built request carries: nothing, unless
given. Nothing is read from or written to any store.
"""

from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory

from ..engine import SegmentSet

DEFAULT_HOST = "localhost"


def built_request(path="/", headers=None, host=None, user=None, country=""):
    """A GET request for ``path``, as ``user`` (anonymous by default), with no session data."""
    request = RequestFactory().get(path, headers=headers or {}, HTTP_HOST=host or DEFAULT_HOST)
    request.user = user or AnonymousUser()
    request.session = {}
    request.described_country = country  # read by ``geo.request_country``: no IP lookup
    return request


def judged(profile, user=None, now=None, host=None, group_names=None):
    """A ``SegmentSet`` judging ``profile`` as ``user`` at ``now``, without their request.

    ``group_names`` (the user's group names, when already loaded for a batch)
    saves the ``user_group`` rule its query.
    """
    request = built_request(host=host, user=user)
    if group_names is not None:
        request._wagtail_segments_groups = frozenset(group_names)  # see rules.user_group_names
    return SegmentSet(request, profile, now=now)
