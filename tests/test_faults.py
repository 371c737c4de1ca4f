"""Faults during traffic: the cache (a Redis server of the test's own) dies or forgets.

Stats must match what was served: a page view whose response was a server
error counts nothing, a cache that cannot be reached makes counting fall
back to the database, and a cache that forgot (a restart) counts nobody twice.
Profiles kept in that cache fail soft: the page is served with a fresh profile.
"""

import logging
import shutil
import subprocess
import time
from unittest import mock

import pytest
import redis
from django.conf import settings as dj_settings
from django.core.cache import caches
from django.test import override_settings

from tests.factories import CAMPUS, UNREACHABLE_CACHES, spare_port, today, visitor_client
from wagtail_segments import engine
from wagtail_segments.conf import segments_settings
from wagtail_segments.models import SegmentDay, SiteDay
from wagtail_segments.stats import recording as stats
from wagtail_segments.stats.recording import recorder
from wagtail_segments.visitor.profile import VisitorProfile
from wagtail_segments.visitor.stores import CacheStore, _unsign

PATHS = ["/", "/savings/", "/campus/", "/news/"]


class RedisServer:
    """A redis-server process of this test's own, on a spare port, keeping nothing on disk."""

    def __init__(self):
        self.port = spare_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--save", "", "--daemonize", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def kill(self):
        """Kill the server by its PID, as a crash would: whatever it held is gone."""
        self.process.kill()
        self.process.wait(10)


@pytest.fixture
def redis_server():
    if not shutil.which("redis-server"):
        pytest.skip("needs redis-server")
    server = RedisServer()
    server.start()
    yield server
    if server.process.poll() is None:
        server.kill()


def redis_cache(server):
    return {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": server.url,
        "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
    }


def package_cache_in(server):
    """Only the package's cache alias in Redis (Wagtail's and the site's stay in memory)."""
    return override_settings(
        CACHES={**dj_settings.CACHES, "segments": redis_cache(server)},
        WAGTAIL_SEGMENTS={"CACHE_ALIAS": "segments"},
    )


@pytest.fixture
def fresh_memory(counted):  # noqa: F811
    """No segments, visitors or variants remembered in this process, before and after."""

    def forget():
        engine._memory.update(version=None, definitions=None)
        stats._remembered.clear()
        stats._shown_here.clear()

    forget()
    yield forget
    forget()


def another_process(forget):
    """What this process remembers is gone, as if the next requests went to another worker."""
    forget()


def test_page_views_are_counted_when_the_package_cache_dies_during_traffic(
    fresh_memory, redis_server
):
    served = 0
    with package_cache_in(redis_server):
        people = [visitor_client() for _ in range(4)]
        people[0].get(CAMPUS)  # a college student
        served += 1
        for round_number in range(6):
            if round_number == 3:
                redis_server.kill()
                another_process(fresh_memory)
            for person in people:
                response = person.get(PATHS[round_number % len(PATHS)])
                assert response.status_code == 200
                served += 1
        recorder.flush()
    site = today(SiteDay)
    assert (site.visitors, site.pageviews) == (4, served)
    students = today(SegmentDay, segment="college-students")
    assert (students.members, students.pageviews) == (1, 7)


def test_nobody_is_counted_twice_when_the_cache_forgets(fresh_memory, redis_server):
    with package_cache_in(redis_server):
        people = [visitor_client() for _ in range(3)]
        for person in people:
            person.get(CAMPUS)
            person.get("/")
        recorder.flush()
        redis_server.kill()
        redis_server.start()  # a restart: the cache is empty
        another_process(fresh_memory)
        for person in people:
            assert person.get("/savings/").status_code == 200
        recorder.flush()
    site = today(SiteDay)
    assert (site.visitors, site.pageviews) == (3, 9)
    students = today(SegmentDay, segment="college-students")
    assert (students.members, students.pageviews) == (3, 9)


def test_with_redis_as_the_whole_cache_dying_only_served_pages_are_counted(
    fresh_memory, redis_server
):
    served = 0
    whole_cache = override_settings(
        CACHES={"default": redis_cache(redis_server)}, WAGTAIL_SEGMENTS={}
    )
    with whole_cache:
        people = [visitor_client() for _ in range(3)]
        for person in people:
            person.raise_request_exception = False
        for round_number in range(4):
            if round_number == 2:
                redis_server.kill()
                another_process(fresh_memory)
            for person in people:
                response = person.get(PATHS[round_number % len(PATHS)])
                served += response.status_code < 500
        recorder.flush()
    assert served < 3 * 4  # Wagtail's own use of the cache made pages fail
    assert today(SiteDay).pageviews == served
    assert today(SiteDay).visitors == 3


def test_a_page_that_fails_counts_nothing(fresh_memory):
    person = visitor_client()
    person.raise_request_exception = False
    assert person.get("/savings/").status_code == 200
    with mock.patch("pages.models.ProductPage.get_context", side_effect=RuntimeError("boom")):
        assert person.get("/savings/").status_code == 500
    recorder.flush()
    assert (today(SiteDay).visitors, today(SiteDay).pageviews) == (1, 1)


# -- profiles in a cache that fails ----------------------------------------------------------

WELCOME_STUDENTS = "Welcome, campus newcomer"


def profiles_in(cache_setting):
    """The package's cache alias (and with it the profile store) on ``cache_setting``."""
    return override_settings(
        CACHES={**dj_settings.CACHES, "segments": cache_setting},
        WAGTAIL_SEGMENTS={"CACHE_ALIAS": "segments", "PROFILE_STORE": "cache"},
    )


def stored_profile(person):
    """The profile the cache store holds under the person's visitor id, or None."""
    visitor_id = _unsign(person.cookies[segments_settings.COOKIE_NAME].value)
    data = CacheStore().read(visitor_id)
    return data and VisitorProfile.from_data(data)


def lost_writes(caplog):
    return [r for r in caplog.records if "lost a profile write" in r.getMessage()]


def test_an_unreachable_profile_cache_serves_every_page_with_a_fresh_profile(fresh_memory, caplog):
    unreachable = UNREACHABLE_CACHES["segments"]
    with profiles_in(unreachable), caplog.at_level(logging.WARNING, "wagtail_segments"):
        person = visitor_client()
        campus = person.get(CAMPUS)
        assert campus.status_code == 200
        assert segments_settings.COOKIE_NAME in campus.cookies  # the visitor id, set once
        assert len(lost_writes(caplog)) == 1
        home = person.get("/")
        assert home.status_code == 200
        # The landing campaign of the first page was not kept: a fresh profile, not a 500.
        assert WELCOME_STUDENTS not in home.content.decode()
        assert person.get("/savings/").status_code == 200
        event = person.post(
            "/personalisation/event/", {"event": "signup"}, content_type="application/json"
        )
        assert event.status_code == 200
        erased = person.post("/personalisation/erase/")
        assert erased.status_code == 200 and erased.json() == {"erased": True}
    messages = [record.getMessage() for record in caplog.records]
    assert any("could not read a profile" in message for message in messages)
    assert any("could not erase the profile" in message for message in messages)


def test_profiles_in_a_redis_that_dies_mid_traffic(fresh_memory, redis_server, caplog):
    with profiles_in(redis_cache(redis_server)), caplog.at_level(logging.WARNING):
        student = visitor_client()
        student.get(CAMPUS)
        student.get("/savings/")
        assert stored_profile(student).pageviews == 2
        redis_server.kill()
        for path in PATHS:
            assert student.get(path).status_code == 200
        assert student.post("/personalisation/erase/").status_code == 200
        assert lost_writes(caplog) == []  # a profile that could not be read is not written
        redis_server.start()  # back, empty: the next page view starts a new profile
        assert WELCOME_STUDENTS not in student.get("/").content.decode()
        assert stored_profile(student).pageviews == 1


def test_a_profile_that_could_not_be_read_is_not_overwritten(fresh_memory):
    """A cache that fails a read but takes the write keeps the visitor's stored profile."""
    with profiles_in({"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}):
        student = visitor_client()
        student.get(CAMPUS)
        student.get("/")
        cache = caches["segments"]
        read = cache.get

        def fail_on_profiles(key, *args, **kwargs):
            if key.startswith("wagtail_segments:profile:"):
                raise redis.ConnectionError("Redis went away")
            return read(key, *args, **kwargs)

        with mock.patch.object(cache, "get", fail_on_profiles):
            assert student.get("/savings/").status_code == 200
        profile = stored_profile(student)
        assert profile.pageviews == 2 and profile.utm["campaign"] == "campus"
        assert WELCOME_STUDENTS in student.get("/").content.decode()
