"""Who may do what: Wagtail permission policies, one per kind of thing.

``segments`` is the model policy of ``Segment`` ("view" for the reports, the
tester, the cockpit and "view as"; "add" and "change" for imports). ``people``
is ``StoredProfile``'s own permission, ``view_people``: the People screens and
the exports of segment members.
"""

from wagtail.admin.menu import MenuItem
from wagtail.permission_policies import BasePermissionPolicy, ModelPermissionPolicy

from .models import Segment, StoredProfile


class CodenamePolicy(BasePermissionPolicy):
    """A Wagtail permission policy over a model's own permissions named by ``codenames``
    (action -> codename), for permissions not named "<action>_<model>"."""

    def __init__(self, model, codenames):
        super().__init__(model)
        self.codenames = codenames

    def user_has_permission(self, user, action):
        codename = self.codenames.get(action)
        return codename is not None and user.has_perm(f"{self.model._meta.app_label}.{codename}")

    def user_has_any_permission(self, user, actions):
        return any(self.user_has_permission(user, action) for action in actions)


segments = ModelPermissionPolicy(Segment)
people = CodenamePolicy(StoredProfile, {"view": "view_people"})


def shown_to(policy, action="view"):
    """A Wagtail ``MenuItem`` class shown to the users ``policy`` allows ``action``."""

    class PermittedMenuItem(MenuItem):
        def is_shown(self, request):
            return policy.user_has_permission(request.user, action)

    return PermittedMenuItem
