"""Text no database stores (a NUL character, a lone surrogate) never reaches a stored profile.

PostgreSQL refuses both in a JSON column, so the database store failed on
save; run these on PostgreSQL too (``DATABASE_URL=postgres://…``). Such text
is refused with a clear error where the profile takes it from code or the
event endpoint, and dropped where a stored profile is read back.
"""

import json

import pytest
from django.http import HttpResponse
from django.test import RequestFactory, override_settings
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import BROWSER_UA
from wagtail_segments import api
from wagtail_segments.conf import segments_settings
from wagtail_segments.middleware import finish
from wagtail_segments.models import StoredProfile
from wagtail_segments.parsing import UNSTORABLE, is_storable
from wagtail_segments.visitor.profile import MAX_VALUE_LENGTH, VisitorProfile, checked_attribute
from wagtail_segments.visitor.state import attach_state
from wagtail_segments.visitor.stores import DatabaseStore, _sign

DATABASE_STORE = override_settings(WAGTAIL_SEGMENTS={"PROFILE_STORE": "database"})
NUL = "Lon\x00don"
SURROGATE = "Lon\ud800don"


@pytest.mark.parametrize(
    ("value", "place"),
    [
        (NUL, "Attribute 'city': text"),
        (SURROGATE, "Attribute 'city': text"),
        (["London", NUL], "Attribute 'city'[1]: text"),
        ({"town": SURROGATE}, "Attribute 'city'.town: text"),
        ({"to\x00wn": "London"}, "Attribute 'city': a name"),
        ([{"streets": ["High St", "\udfff"]}], "Attribute 'city'[0].streets[1]: text"),
    ],
)
def test_an_attribute_with_unstorable_text_is_refused_naming_the_place(value, place):
    profile = VisitorProfile()
    profile.set_attribute("kept", 1)
    with pytest.raises(ValueError) as refused:
        profile.set_attribute("city", value)
    assert str(refused.value) == f"{place} {UNSTORABLE}."
    assert profile.attributes == {"kept": 1}


@pytest.mark.parametrize("key", ["ci\x00ty", "ci\ud800ty"])
def test_an_attribute_key_with_unstorable_text_is_refused(key):
    with pytest.raises(ValueError, match="a name with a NUL character or a lone surrogate"):
        checked_attribute(key, "London")


@pytest.mark.parametrize("name", ["sign\x00up", "sign\ud800up"])
def test_an_event_name_with_unstorable_text_is_refused(name):
    profile = VisitorProfile()
    with pytest.raises(ValueError, match="NUL character or a lone surrogate"):
        profile.track_event(name)
    assert profile.events == {} and not profile.changed


def test_utm_values_and_the_referrer_keep_no_unstorable_text():
    profile = VisitorProfile()
    utm = {"campaign": "cam\x00pus", "source": "fly\ud800er"}
    profile.start_visit(timezone.now(), referrer="https://example.com/\udc00", utm=utm)
    assert profile.utm == {"campaign": "campus"}  # NUL taken out; a lone surrogate: not kept
    assert profile.referrer == ""


def request_with_profile():
    request = RequestFactory().get("/", HTTP_USER_AGENT=BROWSER_UA)
    request.user = None
    request.session = {}
    return request, attach_state(request)


@pytest.mark.django_db
@pytest.mark.parametrize("value", [NUL, SURROGATE, ["a", NUL]])
def test_code_setting_unstorable_text_gets_an_error_and_the_database_store_still_saves(value):
    with DATABASE_STORE:
        request, state = request_with_profile()
        api.set_attribute(request, "plan", "gold")
        with pytest.raises(ValueError, match=UNSTORABLE.replace("(", r"\(").replace(")", r"\)")):
            api.set_attribute(request, "city", value)
        with pytest.raises(ValueError, match="Event name"):
            api.track_event(request, NUL)
        response = HttpResponse()
        finish(state, response)
    [stored] = StoredProfile.objects.all()
    profile = VisitorProfile.from_data(stored.data)
    assert profile.attributes == {"plan": "gold"} and profile.events == {}


def test_the_event_endpoint_refuses_a_nul_in_an_event_name(visitor):
    with DATABASE_STORE:
        response = visitor.post(
            "/personalisation/event/", {"event": "sign\x00up"}, content_type="application/json"
        )
    assert response.status_code == 400
    assert '"event" must be' in response.json()["error"]
    assert not StoredProfile.objects.exists()
    assert segments_settings.COOKIE_NAME not in response.cookies


def profile_data_with_unstorable_text():
    """A signed profile written before this check: attributes, an event, UTM and referrer."""
    data = VisitorProfile().to_data()
    day = timezone.now().timestamp() // 86400
    return {
        **data,
        "r": "https://example.com/\x00",
        "u": {"campaign": "cam\x00pus", "source": "flyer"},
        "e": {"sign\ud800up": [[int(day), 1]], "brochure": [[int(day), 2]]},
        "a": {"city": NUL, "plan": "gold", "to\x00wn": "x", "tags": ["ok", SURROGATE]},
    }


def test_reading_a_profile_drops_unstorable_text_and_keeps_the_rest():
    profile = VisitorProfile.from_data(profile_data_with_unstorable_text())
    assert profile.referrer == ""
    assert profile.utm == {"source": "flyer"}
    assert profile.events == {"brochure": 2}
    assert profile.attributes == {"plan": "gold"}


def test_a_users_old_cookie_profile_with_unstorable_text_is_adopted_into_the_database(
    visitor, django_user_model
):
    user = django_user_model.objects.create_user("ann", "ann@example.com", "pw")
    visitor.force_login(user)
    visitor.cookies[segments_settings.COOKIE_NAME] = _sign(profile_data_with_unstorable_text())
    with override_settings(WAGTAIL_SEGMENTS={"USER_PROFILE_STORE": "database"}):
        assert visitor.get("/savings/").status_code == 200
    stored = VisitorProfile.from_data(StoredProfile.objects.get(key=f"user:{user.pk}").data)
    assert stored.attributes == {"plan": "gold"} and stored.pageviews == 1


@pytest.mark.django_db
@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=st.text(st.characters(exclude_categories=()), max_size=20))
def test_any_attribute_text_is_refused_or_stored(text):
    """What ``set_attribute`` takes, the database store keeps (surrogates and NUL included)."""
    value = [text, {text: 1}]
    profile = VisitorProfile()
    try:
        profile.set_attribute("note", value)
    except ValueError:
        assert not is_storable(text) or len(json.dumps(value)) > MAX_VALUE_LENGTH
        return
    assert is_storable(text)
    DatabaseStore().write(profile.visitor_id, profile.to_data())
    stored = StoredProfile.objects.get(key=profile.visitor_id).data
    assert VisitorProfile.from_data(stored).attributes == {"note": value}
