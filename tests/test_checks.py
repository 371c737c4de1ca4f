import pytest
from django.core.checks import Warning
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from wagtail_segments.checks import check_consent, check_middleware, check_settings, check_urls
from wagtail_segments.conf import DEFAULTS, MIDDLEWARE_PATH, segments_settings

SESSION = "django.contrib.sessions.middleware.SessionMiddleware"
AUTH = "django.contrib.auth.middleware.AuthenticationMiddleware"


def error_ids(errors):
    return [error.id for error in errors]


def test_installed_sandbox_passes_every_check():
    assert check_middleware() == []
    assert check_settings() == []


@override_settings(MIDDLEWARE=[SESSION, AUTH])
def test_missing_middleware_is_e001():
    assert error_ids(check_middleware()) == ["wagtail_segments.E001"]


@override_settings(MIDDLEWARE=[SESSION, MIDDLEWARE_PATH, AUTH])
def test_middleware_before_authentication_is_e002():
    errors = check_middleware()
    assert error_ids(errors) == ["wagtail_segments.E002"]
    assert AUTH in errors[0].msg


@override_settings(MIDDLEWARE=[MIDDLEWARE_PATH])
def test_missing_session_and_auth_middleware_is_e003():
    assert error_ids(check_middleware()) == ["wagtail_segments.E003"]


@override_settings(WAGTAIL_SEGMENTS={"NOT_A_SETTING": 1})
def test_unknown_setting_is_e004_and_raises_on_read():
    errors = check_settings()
    assert error_ids(errors) == ["wagtail_segments.E004"]
    assert "NOT_A_SETTING" in errors[0].msg
    with pytest.raises(ImproperlyConfigured, match="NOT_A_SETTING"):
        _ = segments_settings.CACHE_ALIAS


@override_settings(WAGTAIL_SEGMENTS=["CACHE_ALIAS"])
def test_setting_that_is_not_a_dict_is_e004():
    assert "must be a dict" in check_settings()[0].msg


def test_settings_have_defaults_and_follow_overrides():
    assert DEFAULTS["CACHE_ALIAS"] == segments_settings.CACHE_ALIAS
    with override_settings(WAGTAIL_SEGMENTS={"CACHE_ALIAS": "other"}):
        assert segments_settings.CACHE_ALIAS == "other"
    assert DEFAULTS["CACHE_ALIAS"] == segments_settings.CACHE_ALIAS


def test_unknown_setting_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="NOPE"):
        _ = segments_settings.NOPE


def test_included_urls_pass_e005():
    assert check_urls() == []


@override_settings(ROOT_URLCONF="tests.urls_without_segments")
def test_missing_urls_are_e005_and_pages_still_render_for_editors(
    client, django_user_model, monkeypatch
):
    from tests.factories import BROWSER_UA, make_site_with_pages
    from tests.testapp.models import PersonalisedPage

    errors = check_urls()
    assert error_ids(errors) == ["wagtail_segments.E005"]
    assert 'include("wagtail_segments.urls")' in errors[0].hint
    # A page whose template has the userbar and the segments script.
    monkeypatch.setattr(PersonalisedPage, "template", "testapp/render_paths/page_body.html")
    root = make_site_with_pages()["root"]
    root.add_child(instance=PersonalisedPage(title="Offers", slug="offers"))
    editor = django_user_model.objects.create_superuser("editor", "e@example.com", "pw")
    client.force_login(editor)
    response = client.get("/offers/", headers={"user-agent": BROWSER_UA})
    assert response.status_code == 200
    html = response.content.decode()
    assert "<main>" in html
    assert "data-segments-cockpit" not in html
    assert "events.js" not in html


@override_settings(DEBUG=False, WAGTAIL_SEGMENTS={})
def test_no_consent_setting_in_production_is_w001():
    [warning] = check_consent()
    assert warning.id == "wagtail_segments.W001"
    assert isinstance(warning, Warning)
    assert "without asking for consent" in warning.msg
    assert "CONSENT_COOKIE" in warning.hint and "docs/how-to/privacy.md" in warning.hint


@pytest.mark.parametrize(
    ("debug", "segments_setting"),
    [
        (True, {}),
        (False, {"CONSENT_COOKIE": "cookie_consent"}),
        (False, {"CONSENT_CHECK": "myproject.privacy.has_consent"}),
        (False, {"CONSENT_COOKIE": "cookie_consent", "CONSENT_CHECK": "a.b"}),
        (False, {"NOT_A_SETTING": 1}),  # E004 explains it
    ],
)
def test_w001_is_silent_in_development_with_consent_or_with_unreadable_settings(
    debug, segments_setting
):
    with override_settings(DEBUG=debug, WAGTAIL_SEGMENTS=segments_setting):
        assert check_consent() == []


def test_the_sandbox_asks_for_consent():
    from bank import settings as sandbox

    with override_settings(DEBUG=False, WAGTAIL_SEGMENTS=sandbox.WAGTAIL_SEGMENTS):
        assert check_consent() == []
    assert sandbox.WAGTAIL_SEGMENTS["CONSENT_COOKIE"]
