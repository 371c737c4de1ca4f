"""Profile stores: cookie size bound, server-side stores on Redis and the database."""

import random
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

import pytest
import redis
from django.core import signing
from django.core.cache import caches
from django.http import HttpResponse
from django.test import RequestFactory, override_settings

from tests.factories import BROWSER_UA
from wagtail_segments.conf import segments_settings
from wagtail_segments.models import StoredProfile
from wagtail_segments.visitor.profile import VisitorProfile
from wagtail_segments.visitor.stores import (
    MAX_PROFILE_COOKIE,
    SALT,
    CookieStore,
    _sign,
    _unsign,
)

REDIS_URL = "redis://127.0.0.1:6379/15"
START = datetime(2026, 3, 2, 9, 0, tzinfo=dt_timezone.utc)


def test_cookie_stays_under_1kb_after_1000_page_views():
    rng = random.Random(7)
    profile = VisitorProfile(now=START)
    for view in range(1000):
        moment = START + timedelta(minutes=17 * view)
        if view % 40 == 0:
            profile.start_visit(
                moment,
                landing_page=rng.randrange(1, 5000),
                referrer=f"https://www.search-engine-{view}.example/q?s={'x' * 60}",
                utm={"campaign": f"campaign-{view}", "source": "newsletter"},
            )
        page = rng.randrange(1, 5000)
        profile.record_pageview(page, moment)
        profile.add_score(
            f"interest-{rng.randrange(40)}", rng.randrange(1, 20), moment, source=f"page:{page}"
        )
        profile.track_event(f"event-{rng.randrange(40)}", 1, moment)
        if view % 10 == 0:
            profile.set_attribute(f"attribute-{rng.randrange(40)}", rng.random() * 1000)
    response = HttpResponse()
    CookieStore().save(RequestFactory().get("/"), response, profile)
    # What the browser keeps and sends back: name=value (attributes such as Path are not sent).
    cookie = response.cookies[segments_settings.COOKIE_NAME]
    size = len(f"{cookie.key}={cookie.value}")
    assert len(profile.ledger) == 4  # the score ledger is part of the worst case
    assert size <= MAX_PROFILE_COOKIE, f"{size} bytes"  # the bound: 1,024 bytes at most


def test_profile_cookies_follow_the_secret_key_and_its_fallbacks():
    """The signer is made once per secret key, not once: rotating the key keeps working."""
    data = VisitorProfile(now=START).to_data()
    with override_settings(SECRET_KEY="old-key-" + "x" * 50):
        signed_before = _sign(data)
        assert _unsign(signed_before) == data
    with override_settings(SECRET_KEY="new-key-" + "y" * 50):
        assert _unsign(signed_before) is None  # another key's cookie is not ours
        signed_after = _sign(data)
    with override_settings(
        SECRET_KEY="new-key-" + "y" * 50, SECRET_KEY_FALLBACKS=["old-key-" + "x" * 50]
    ):
        assert _unsign(signed_before) == data  # an old key still read while it is a fallback
        assert _unsign(signed_after) == data


def test_cookies_signed_by_djangos_signing_dumps_still_read():
    """The format is Django's own: cookies written before the signer was kept still load."""
    profile = VisitorProfile(now=START)
    for n in range(12):
        profile.add_score(f"topic-{n}", 3, START, source=f"page:{n}")
    data = profile.to_data()
    ours, djangos = _sign(data), signing.dumps(data, salt=SALT, compress=True)
    assert _unsign(djangos) == data
    assert signing.loads(ours, salt=SALT) == data
    # Compressed with a cookie-sized window, and as small as with zlib's default one.
    assert ours.startswith(".") and djangos.startswith(".")
    assert len(ours.split(":")[0]) <= len(djangos.split(":")[0])


@pytest.fixture
def redis_cache():
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.ConnectionError:
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")
    caches_setting = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "profiles": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
        },
    }
    with override_settings(CACHES=caches_setting):
        caches["profiles"].clear()
        yield caches["profiles"]
        caches["profiles"].clear()


def test_cache_store_keeps_profiles_in_redis(visitor, redis_cache):
    with override_settings(WAGTAIL_SEGMENTS={"PROFILE_STORE": "cache", "CACHE_ALIAS": "profiles"}):
        visitor.get("/savings/")
        visitor.get("/savings/")
        cookie = visitor.cookies[segments_settings.COOKIE_NAME].value
        assert len(cookie) < 100  # the signed visitor id only
        keys = redis.Redis.from_url(REDIS_URL).keys("*wagtail_segments:profile:*")
        assert len(keys) == 1
        [stored] = [redis_cache.get(key.decode().split(":", 2)[-1]) for key in keys]
        assert VisitorProfile.from_data(stored).pageviews == 2


def test_database_store_keeps_profiles_in_a_table(visitor):
    with override_settings(WAGTAIL_SEGMENTS={"PROFILE_STORE": "database"}):
        visitor.get("/savings/")
        visitor.get("/savings/")
    [stored] = StoredProfile.objects.all()
    assert VisitorProfile.from_data(stored.data).pageviews == 2


def test_forged_visitor_id_cookie_is_ignored(visitor):
    with override_settings(WAGTAIL_SEGMENTS={"PROFILE_STORE": "database"}):
        visitor.get("/savings/")
        victim = StoredProfile.objects.get().key
        visitor.cookies[segments_settings.COOKIE_NAME] = victim  # unsigned
        visitor.get("/savings/")
    assert StoredProfile.objects.count() == 2
    assert VisitorProfile.from_data(StoredProfile.objects.get(key=victim).data).pageviews == 1


def test_logged_in_users_profile_follows_them_across_devices(visitor, django_user_model, client):
    user = django_user_model.objects.create_user("sam", password="pw")
    settings = {"USER_PROFILE_STORE": "database"}
    with override_settings(WAGTAIL_SEGMENTS=settings):
        visitor.get("/savings/")  # anonymous: cookie profile
        visitor.force_login(user)
        visitor.get("/savings/")  # adopts the anonymous profile, stores it under the user
        assert StoredProfile.objects.get(key=f"user:{user.pk}")
        phone = type(visitor)(HTTP_USER_AGENT=BROWSER_UA)
        phone.force_login(user)
        phone.get("/savings/")
    stored = VisitorProfile.from_data(StoredProfile.objects.get(key=f"user:{user.pk}").data)
    assert stored.pageviews == 3


@pytest.mark.parametrize(
    ("setting", "value"), [("PROFILE_STORE", "memory"), ("USER_PROFILE_STORE", "cookie")]
)
def test_unknown_store_names_fail_clearly(visitor, django_user_model, setting, value):
    from django.core.exceptions import ImproperlyConfigured

    visitor.force_login(django_user_model.objects.create_user("sam"))
    with (
        override_settings(WAGTAIL_SEGMENTS={setting: value}),
        pytest.raises(ImproperlyConfigured, match=setting),
    ):
        visitor.get("/savings/")


def test_expired_cookie_gives_a_fresh_profile(visitor):
    import time_machine

    profile = VisitorProfile()
    profile.visits, profile.pageviews = 5, 50
    with time_machine.travel(START, tick=False):
        old = _sign(profile.to_data())
    visitor.cookies[segments_settings.COOKIE_NAME] = old
    with time_machine.travel(START + timedelta(days=400), tick=False):
        visitor.get("/savings/")
        from wagtail_segments.visitor.stores import _unsign

        fresh = VisitorProfile.from_data(
            _unsign(visitor.cookies[segments_settings.COOKIE_NAME].value)
        )
    assert fresh.pageviews == 1


SHELF_STORE = {
    "CLASS": "tests.testapp.stores.ShelfStore",
    "OPTIONS": {"shelf": "profiles", "prefix": "site-a:"},
}


@pytest.fixture
def shelves():
    from tests.testapp.stores import SHELVES

    SHELVES.clear()
    yield SHELVES
    SHELVES.clear()


def test_a_project_store_plugged_through_class_and_options_keeps_profiles(visitor, shelves):
    with override_settings(WAGTAIL_SEGMENTS={"PROFILE_STORE": SHELF_STORE}):
        visitor.get("/savings/")
        visitor.get("/savings/")
    [(key, data)] = shelves["profiles"].items()
    assert key.startswith("site-a:")  # the OPTIONS reached the store
    assert VisitorProfile.from_data(data).pageviews == 2
    assert not StoredProfile.objects.exists()


def test_a_project_store_can_keep_users_profiles(visitor, shelves, django_user_model):
    user = django_user_model.objects.create_user("sam")
    visitor.force_login(user)
    with override_settings(WAGTAIL_SEGMENTS={"USER_PROFILE_STORE": SHELF_STORE}):
        visitor.get("/savings/")
    assert VisitorProfile.from_data(shelves["profiles"][f"site-a:user:{user.pk}"]).pageviews == 1


def test_a_store_named_by_its_alias_in_class_is_the_built_in_one(visitor):
    with override_settings(WAGTAIL_SEGMENTS={"PROFILE_STORE": {"CLASS": "database"}}):
        visitor.get("/savings/")
    assert StoredProfile.objects.count() == 1


@pytest.mark.parametrize(
    ("setting", "value", "says"),
    [
        ("PROFILE_STORE", {"CLASS": "tests.testapp.stores.Missing"}, "cannot be imported"),
        ("PROFILE_STORE", {"CLASS": "no_such_module.Store"}, "cannot be imported"),
        ("PROFILE_STORE", {"CLASS": "tests.testapp.stores.NotAStore"}, "not a subclass"),
        ("PROFILE_STORE", {"CLASS": SHELF_STORE["CLASS"], "OPTIONS": []}, "must be a dict"),
        ("PROFILE_STORE", {"OPTIONS": {}}, "must be one of"),
        ("USER_PROFILE_STORE", {"CLASS": "cookie"}, "not a subclass of ServerSideStore"),
    ],
)
def test_a_store_that_cannot_be_made_is_e006_and_fails_clearly_on_a_request(
    visitor, django_user_model, setting, value, says
):
    from django.core.exceptions import ImproperlyConfigured

    from wagtail_segments.checks import check_stores

    visitor.force_login(django_user_model.objects.create_user("sam"))
    with override_settings(WAGTAIL_SEGMENTS={setting: value}):
        [error] = check_stores()
        assert error.id == "wagtail_segments.E006"
        assert setting in error.msg and says in error.msg
        with pytest.raises(ImproperlyConfigured, match=says):
            visitor.get("/savings/")


def test_options_a_store_does_not_take_are_e006():
    from wagtail_segments.checks import check_stores

    wrong = {"CLASS": SHELF_STORE["CLASS"], "OPTIONS": {"shelf": "x", "colour": "red"}}
    with override_settings(WAGTAIL_SEGMENTS={"PROFILE_STORE": wrong}):
        [error] = check_stores()
    assert error.id == "wagtail_segments.E006" and "colour" in error.msg


def test_the_built_in_stores_pass_the_store_check():
    from wagtail_segments.checks import check_stores

    for store in ("cookie", "cache", "database"):
        with override_settings(
            WAGTAIL_SEGMENTS={"PROFILE_STORE": store, "USER_PROFILE_STORE": "database"}
        ):
            assert check_stores() == []
