import pytest
from django.contrib.auth.models import Group, Permission, User
from django.urls import reverse


@pytest.fixture
def editors_member(db):
    user = User.objects.create_user("eddie", password="correct horse", email="e@example.com")
    user.groups.add(Group.objects.get(name="Editors"))
    return user


def test_editor_logs_into_the_admin(client, editors_member):
    response = client.post(
        reverse("wagtailadmin_login"), {"username": "eddie", "password": "correct horse"}
    )
    assert response.status_code == 302
    dashboard = client.get(reverse("wagtailadmin_home"))
    assert dashboard.status_code == 200
    assert dashboard.context["request"].user == editors_member


def test_wrong_password_stays_on_the_login_form(client, editors_member):
    response = client.post(reverse("wagtailadmin_login"), {"username": "eddie", "password": "no"})
    assert response.status_code == 200
    assert client.get(reverse("wagtailadmin_home")).status_code == 302


def test_the_permission_policies_answer_by_the_permissions_a_user_holds(db, django_user_model):
    from wagtail_segments import permissions

    user = django_user_model.objects.create_user("clerk", password="pw")
    assert not permissions.segments.user_has_permission(user, "view")
    assert not permissions.people.user_has_any_permission(user, ["view", "delete"])
    for codename in ("view_segment", "view_people"):
        user.user_permissions.add(Permission.objects.get(codename=codename))
    user = django_user_model.objects.get(pk=user.pk)  # Django caches a user's permissions
    assert permissions.segments.user_has_permission(user, "view")
    assert permissions.people.user_has_permission(user, "view")
    assert not permissions.people.user_has_permission(user, "delete")  # no such permission
