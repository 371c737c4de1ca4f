"""Who may do what: Wagtail permission policies, one per kind of thing.

``segments`` is the model policy of ``Segment`` ("view" for the reports, the
tester, the cockpit and "view as"; "add" and "change" for imports). ``people``
is ``StoredProfile``'s own permission, ``view_people``: the People screens and
the exports of segment members.
"""

from wagtail.admin.menu import MenuItem
from wagtail.permission_policies import ModelPermissionPolicy

from .models import Segment, StoredProfile


class PeoplePermissionPolicy(ModelPermissionPolicy):
    """``StoredProfile``'s permissions are named after people: "view" is ``view_people``."""

    def _get_permission_codename(self, action):
        return f"{action}_people"


segments = ModelPermissionPolicy(Segment)
people = PeoplePermissionPolicy(StoredProfile)


def shown_to(policy, action="view"):
    """A Wagtail ``MenuItem`` class shown to the users ``policy`` allows ``action``."""

    class PermittedMenuItem(MenuItem):
        def is_shown(self, request):
            return policy.user_has_permission(request.user, action)

    return PermittedMenuItem
