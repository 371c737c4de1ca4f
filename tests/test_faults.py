"""Faults during traffic: the cache (a Redis server of the test's own) dies or forgets.

Stats must match what was served: a page view whose response was a server
error counts nothing, a cache that cannot be reached makes counting fall
back to the database, and a cache that forgot (a restart) counts nobody twice.
"""

import shutil
import subprocess
import time
from unittest import mock

import pytest
import redis
from django.conf import settings as dj_settings
from django.test import override_settings

from tests.factories import spare_port
from tests.test_stats import CAMPUS, counted, today, visitor  # noqa: F401  (fixture)
from wagtail_segments import engine, stats
from wagtail_segments.models import SegmentDay, SiteDay
from wagtail_segments.stats import recorder

pytestmark = pytest.mark.skipif(not shutil.which("redis-server"), reason="needs redis-server")
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
        people = [visitor() for _ in range(4)]
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
        people = [visitor() for _ in range(3)]
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
        people = [visitor() for _ in range(3)]
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
    person = visitor()
    person.raise_request_exception = False
    assert person.get("/savings/").status_code == 200
    with mock.patch("pages.models.ProductPage.get_context", side_effect=RuntimeError("boom")):
        assert person.get("/savings/").status_code == 500
    recorder.flush()
    assert (today(SiteDay).visitors, today(SiteDay).pageviews) == (1, 1)
