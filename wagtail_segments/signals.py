"""Signals sent when a known visitor's segment membership changes, for CRM sync.

Both are sent by ``membership.note_changes`` on the request where the change
is found, with ``sender=Segment`` and these keyword arguments:

- ``slug``: the segment's slug;
- ``visitor_id``: the visitor's opaque id;
- ``user``: the logged-in user, or None;
- ``held_out``: whether the member is in the segment's holdout (sees the default
  content), as judged on that request; always False for ``segment_left``;
- ``request``: the request.

Receivers run on the request path: they should hand the work to a task queue
(see docs/how-to/people.md). A receiver that raises is logged, never breaks
the page.
"""

from django.dispatch import Signal

segment_entered = Signal()
segment_left = Signal()
