"""Load test: gunicorn workers on PostgreSQL and Redis, a bounded concurrent client.

    .venv/bin/python benchmarks/load.py                 # 4 workers, 16 clients, 3,000 requests
    .venv/bin/python benchmarks/load.py --requests 600 --workers 2 --clients 8

It builds the sandbox in a scratch PostgreSQL database (demo content, no
simulated traffic), starts gunicorn on 127.0.0.1 with Redis as Django's
cache, and sends visitor journeys (campaign landings, product pages, the
home page, events) from a fixed number of concurrent clients, each with its
own cookies (having accepted the sandbox's consent banner). It then stops
gunicorn gracefully (each worker writes its pending stats) and checks: no
request failed, and the stats count exactly the page views and visitors sent.
Prints a summary and writes benchmarks/results/load.json.
"""

import argparse
import http.cookiejar
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SANDBOX = ROOT / "sandbox"
RESULTS = Path(__file__).resolve().parent / "results"
BROWSER_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0 Safari/537.36"
)
JOURNEYS = [
    ["/campus/?utm_campaign=campus", "/", "/student-account/", "/savings/"],
    ["/investing/", "/retirement/", "/investing/", "/"],
    ["/", "/checking-account/", "/news/", "/cart/"],
]
EVENT = b'{"event": "brochure-investing"}'
CONSENT_COOKIE = "cookie_consent"  # the sandbox's WAGTAIL_SEGMENTS["CONSENT_COOKIE"]


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def environment(database_url, redis_url):
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bank.settings",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "DEBUG": "0",
        "PYTHONPATH": f"{ROOT}:{SANDBOX}",
    }


def manage(env, *args):
    subprocess.run([sys.executable, "manage.py", *args], cwd=SANDBOX, env=env, check=True)


def prepare(env):
    import psycopg

    url = env["DATABASE_URL"]
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    manage(env, "migrate", "--noinput", "-v0")
    manage(env, "load_demo", "--no-user", "--no-traffic", "-v0")
    subprocess.run(
        ["redis-cli", "-u", env["REDIS_URL"], "FLUSHDB"], check=True, capture_output=True
    )


def start_gunicorn(env, port, workers):
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "bank.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--log-level",
            "warning",
        ],
        cwd=SANDBOX,
        env=env,
    )
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/news/", timeout=2).read()
            return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("gunicorn did not start")


def accepted_consent():
    """The cookie the sandbox's consent banner sets when a visitor clicks Accept."""
    return http.cookiejar.Cookie(
        version=0,
        name=CONSENT_COOKIE,
        value="1",
        port=None,
        port_specified=False,
        domain="127.0.0.1",
        domain_specified=False,
        domain_initial_dot=False,
        path="/",
        path_specified=True,
        secure=False,
        expires=None,
        discard=True,
        comment=None,
        comment_url=None,
        rest={},
    )


def run_visitor(base, journey, send_event):
    """One visitor's journey with its own cookies; returns (latencies, errors, events sent)."""
    cookies = http.cookiejar.CookieJar()
    cookies.set_cookie(accepted_consent())
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(cookies))
    opener.addheaders = [("User-Agent", BROWSER_UA), ("Host", "localhost")]
    latencies, errors = [], []
    for path in journey:
        started = time.perf_counter()
        try:
            with opener.open(base + path, timeout=30) as response:
                response.read()
        except Exception as error:  # counted, reported
            errors.append(f"{path}: {error}")
        latencies.append(time.perf_counter() - started)
    events = 0
    if send_event:
        request = urllib.request.Request(
            base + "/personalisation/event/",
            data=EVENT,
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            opener.open(request, timeout=30).read()
            events = 1
        except Exception as error:
            errors.append(f"event: {error}")
    return latencies, errors, events


def count_stats(env):
    code = (
        "import json; from django.db.models import Sum; "
        "from wagtail_segments.models import SiteDay, GoalDay; "
        "site = SiteDay.objects.aggregate(v=Sum('visitors'), p=Sum('pageviews')); "
        "goals = GoalDay.objects.filter(segment='').aggregate(c=Sum('conversions')); "
        "print(json.dumps({**site, 'conversions': goals['c']}))"
    )
    output = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=SANDBOX,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000, help="page requests in all")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--clients", type=int, default=16, help="concurrent visitors")
    parser.add_argument(
        "--database", default="postgres://postgres@127.0.0.1:5432/wagtail_segments_load"
    )
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/7")
    options = parser.parse_args()

    env = environment(options.database, options.redis)
    prepare(env)
    port = free_port()
    server = start_gunicorn(env, port, options.workers)
    base = f"http://127.0.0.1:{port}"
    visitors = []
    while sum(len(journey) for journey, _ in visitors) < options.requests:
        number = len(visitors)
        visitors.append((JOURNEYS[number % len(JOURNEYS)], number % 3 == 1))
    started = time.perf_counter()
    try:
        with ThreadPoolExecutor(options.clients) as pool:
            results = list(pool.map(lambda v: run_visitor(base, *v), visitors))
    finally:
        elapsed = time.perf_counter() - started
        server.send_signal(signal.SIGTERM)  # graceful: each worker writes its pending stats
        server.wait(60)
    latencies = [value for result in results for value in result[0]]
    errors = [error for result in results for error in result[1]]
    events = sum(result[2] for result in results)
    stats = count_stats(env)
    summary = {
        "workers": options.workers,
        "clients": options.clients,
        "visitors": len(visitors),
        "page_requests": len(latencies),
        "events": events,
        "errors": len(errors),
        "seconds": round(elapsed, 2),
        "requests_per_second": round((len(latencies) + events) / elapsed, 1),
        "median_ms": round(statistics.median(latencies) * 1000, 1),
        "p95_ms": round(sorted(latencies)[int(len(latencies) * 0.95)] * 1000, 1),
        "stats": stats,
        "exact": stats["p"] == len(latencies) and stats["v"] == len(visitors),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "load.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    for error in errors[:10]:
        print("error:", error)
    if errors or not summary["exact"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
