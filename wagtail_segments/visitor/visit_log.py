"""A bounded log of a server-side profile's past visits, for the People screens.

A profile keeps only its current visit's landing page, referrer and UTM
parameters. A profile kept on the server (cache or database store, or the
user store) also keeps its last ``MAX_VISIT_LOG`` visits: when each started,
where, from which referrer host and campaign, and how many page views came
before it (so each visit's page views follow). Cookie profiles never carry
it: their cookie must stay under 1 KB.
"""

from dataclasses import dataclass
from datetime import datetime

from ..parsing import url_host
from .profile import MAX_VISIT_LOG
from .stores import ServerSideStore


def note_visit(state):
    """Log the visit this request's page view started, for a profile kept on the server."""
    if not (
        state.page_id is not None
        and state.trackable
        and state.may_store
        and isinstance(state.store, ServerSideStore)
    ):
        return
    profile = state.profile
    log = profile.visit_log
    if log and log[-1][0] == profile.visit_started:
        return  # logged on its first page view; the later ones follow from the count
    entry = [
        profile.visit_started,
        profile.landing_page,
        url_host(profile.referrer),
        profile.utm.get("campaign", ""),
        profile.utm.get("source", ""),
        max(profile.pageviews - 1, 0),  # the views before this visit's first one, this request's
    ]
    profile.visit_log = [*log, entry][-MAX_VISIT_LOG:]
    profile.changed = True


@dataclass
class Visit:
    started: datetime
    landing_page_id: int | None
    referrer_host: str
    campaign: str
    source: str
    pageviews: int
    landing_page: str = ""  # its title, for a screen to fill in


def visits(profile):
    """The logged visits of ``profile``, newest first, each with its page views."""
    found = []
    log = profile.visit_log
    for position, (started, page_id, host, campaign, source, before) in enumerate(log):
        after = log[position + 1][5] if position + 1 < len(log) else profile.pageviews
        views = max(after - before, 0)
        found.append(Visit(profile.datetime(started), page_id, host, campaign, source, views))
    return found[::-1]
