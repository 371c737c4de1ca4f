"""Every model the compiled definitions rest on refreshes them on save and delete."""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.urls import reverse

from tests.factories import GoalFactory, PlacementFactory, make_site_with_pages
from tests.testapp.models import PlainPage
from wagtail_segments import engine
from wagtail_segments.models import Goal


@pytest.fixture(autouse=True)
def fresh_definitions(db):
    cache.clear()
    engine.invalidate_definitions()


def test_a_goal_saved_in_the_admin_counts_at_once(admin_client):
    assert engine.load_definitions().event_goals == {}  # compiled and cached before the goal
    response = admin_client.post(
        reverse("wagtail_segments_goals:add"),
        {"name": "Newsletter", "kind": "event", "event": "newsletter-signup", "enabled": "on"},
    )
    assert response.status_code == 302
    goal = Goal.objects.get()
    assert engine.load_definitions().event_goals == {"newsletter-signup": (goal.pk,)}

    response = admin_client.post(reverse("wagtail_segments_goals:delete", args=[goal.pk]))
    assert response.status_code == 302
    assert engine.load_definitions().event_goals == {}


def test_a_goal_disabled_in_code_stops_counting(db):
    goal = GoalFactory(event="signup")
    assert engine.load_definitions().event_goals == {"signup": (goal.pk,)}
    goal.enabled = False
    goal.save()
    assert engine.load_definitions().event_goals == {}


def test_a_placements_page_types_changed_alone_refresh_it(db):
    make_site_with_pages()
    placement = PlacementFactory(name="Banner", slot="banner", content=[])
    assert engine.load_definitions().placements["banner"][0].page_type_ids == frozenset()
    page_type = ContentType.objects.get_for_model(PlainPage)
    placement.page_types.add(page_type)  # an m2m change: no save of the placement
    placement.page_types.commit()
    compiled = engine.load_definitions().placements["banner"][0]
    assert compiled.page_type_ids == frozenset({page_type.pk})
