"""Benchmark: a personalised Wagtail page against the same page without personalisation.

    make benchmark                      # N = 0, 10, 100, 1000; writes benchmarks/results.*
    .venv/bin/python benchmarks/run.py --segments 100 --requests 100 --profile
    .venv/bin/python benchmarks/run.py --redis redis://127.0.0.1:6379/9   # cache in Redis
    .venv/bin/python benchmarks/run.py --segments 100 --instructions      # and callgrind counts

For each N it defines N segments of 5 rules of mixed types, and builds a
page with one personalised block for each segment it uses (at most 100, so
N = 1,000 shows whether unused segments cost anything) plus plain content,
and a control page with the same content as plain blocks. The control is
served by a Django stack without SegmentsMiddleware: it is plain Wagtail.
Requests alternate between the two pages in one run, in process, so the
machine's drift hits both alike. It reports median latencies, their ratio,
the throughput ratio (control time / personalised time for the same number
of requests), SQL queries per request, and the profile cookie's size after
1,000 page views.

A second comparison serves the control page (it asks no segment) through the
package with ``TRACKING = "beacon"`` against plain Wagtail: wall-clock and
process CPU time per request, and with ``--instructions`` the instructions
callgrind counts for the same requests (steady within about 1 %, where the
clocks of a busy machine are not).
"""

import argparse
import cProfile
import gc
import io
import json
import os
import platform
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
BROWSER_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0 Safari/537.36"
)
USED_AT_MOST = 100
PLAIN_PARAGRAPHS = 20
TOPICS = 10
WARM_UP = 10
BEACON_TRACKING = {"TRACKING": "beacon"}
# Callgrind counts only inside this C function (``sys.call_tracing``, which nothing but
# debuggers calls), in which the measured requests run.
CALLGRIND_TOGGLE = "sys_call_tracing"
INSTRUCTION_REQUESTS = 40  # per stack and visitor: the counts vary far less than clocks


def set_up_django(database, redis_url=None):
    sys.path[:0] = [str(ROOT), str(ROOT / "sandbox")]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    os.environ["DATABASE_URL"] = f"sqlite:///{database}"
    os.environ["DEBUG"] = "0"
    if redis_url:  # Django's cache in Redis, as in production (else local memory)
        os.environ["REDIS_URL"] = redis_url
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def rules_for(number):
    """Five rules of mixed types; about one visitor in five matches some of them."""
    return [
        {"type": "utm", "value": {"parameter": "campaign", "value": f"campaign-{number}"}},
        {"type": "visit_count", "value": {"operator": "gte", "count": number % 5 + 1}},
        {"type": "device", "value": {"device_type": "desktop"}},
        {
            "type": "interest_score",
            "value": {"interest": f"topic-{number % TOPICS}", "operator": "gte", "score": 10},
        },
        {"type": "referrer", "value": {"match": "contains", "value": f"partner{number}.example"}},
    ]


class Scenario:
    """The segments, the two pages and the two Django stacks for one N."""

    def __init__(self, segments):
        from django.conf import settings
        from django.test import Client, override_settings
        from wagtail.models import Page

        from tests.factories import make_site_with_pages
        from wagtail_segments import engine
        from wagtail_segments.models import Interest, PageInterest, Segment

        Segment.objects.all().delete()
        Interest.objects.all().delete()
        interests = [
            Interest.objects.create(name=f"Topic {n}", slug=f"topic-{n}") for n in range(TOPICS)
        ]
        Segment.objects.bulk_create(
            Segment(
                name=f"Segment {n}",
                slug=f"segment-{n}",
                match="all" if n % 2 else "any",
                rules=rules_for(n),
            )
            for n in range(segments)
        )
        self.segments, self.used = segments, min(segments, USED_AT_MOST)
        Page.objects.filter(depth=2).delete()  # the previous scenario's site
        root = make_site_with_pages()["root"]
        self.personalised = self.add_page(root, "personalised", personalised=True)
        self.control = self.add_page(root, "control", personalised=False)
        for page in (self.personalised, self.control):
            PageInterest.objects.create(page=page, interest=interests[0], points=5)
        self.more_pages = [self.add_page(root, f"page-{n}", personalised=False) for n in range(30)]
        for n, page in enumerate(self.more_pages):
            PageInterest.objects.create(page=page, interest=interests[n % TOPICS], points=3)
        engine.invalidate_definitions()
        problems = [
            rule.error
            for segment in engine.load_definitions().segments.values()
            for rule in segment.rules
            if rule.error
        ]
        assert not problems, f"The scenario's rules do not validate: {problems[:3]}"

        self.client = Client(HTTP_USER_AGENT=BROWSER_UA)
        # The control's stack: the same settings without the package's middleware. A
        # client's handler loads its middleware on its first request, and keeps it.
        plain = [m for m in settings.MIDDLEWARE if "wagtail_segments" not in m]
        with override_settings(MIDDLEWARE=plain):
            self.plain_client = Client(HTTP_USER_AGENT=BROWSER_UA)
            self.plain_client.get(self.control.url)

    def new_client(self):
        """A client for a visitor the site has never seen (the package's stack)."""
        from django.test import Client

        return Client(HTTP_USER_AGENT=BROWSER_UA)

    def add_page(self, root, slug, personalised):
        from tests.testapp.models import PersonalisedPage

        body = []
        for n in range(self.used):
            text = f"Offer {n} for everyone"
            if personalised:
                variant = {
                    "segments": [f"segment-{n}"],
                    "match": "any",
                    "hide": False,
                    "value": f"Offer {n} for segment {n}",
                }
                body.append(("offer", {"default": text, "variants": [variant]}))
            else:
                body.append(("text", text))
        body += [("text", f"Plain paragraph {n} of the page.") for n in range(PLAIN_PARAGRAPHS)]
        return root.add_child(instance=PersonalisedPage(title=slug.title(), slug=slug, body=body))


def timed(client, url):
    """Wall-clock and process CPU nanoseconds of one request."""
    start, start_cpu = time.perf_counter_ns(), time.process_time_ns()
    response = client.get(url)
    elapsed, cpu = time.perf_counter_ns() - start, time.process_time_ns() - start_cpu
    assert response.status_code == 200, (url, response.status_code)
    return elapsed, cpu


def returning_visitor(scenario):
    """A visitor with history: a campaign visit and page views across the site."""
    client = scenario.new_client()
    client.get(scenario.more_pages[0].url, {"utm_campaign": "campaign-3"})
    for page in scenario.more_pages[:12]:
        client.get(page.url)
    return client


def measure(scenario, requests):
    personalised_url, control_url = scenario.personalised.url, scenario.control.url
    rows = {}
    for visitor in ("new", "returning"):
        with_package = returning_visitor(scenario) if visitor == "returning" else scenario.client
        plain = scenario.plain_client
        p_times, c_times = [], []
        for n in range(requests + WARM_UP):
            pairs = [(p_times, with_package, personalised_url), (c_times, plain, control_url)]
            if n % 2:
                pairs.reverse()  # alternate which goes first
            for times, client, url in pairs:
                if visitor == "new":
                    client.cookies.clear()
                elapsed, _cpu = timed(client, url)
                if n >= WARM_UP:  # the first rounds warm caches
                    times.append(elapsed)
        p_median, c_median = statistics.median(p_times), statistics.median(c_times)
        rows[visitor] = {
            "control_ms": round(c_median / 1e6, 3),
            "personalised_ms": round(p_median / 1e6, 3),
            "latency_ratio": round(p_median / c_median, 3),
            "throughput_ratio": round(sum(c_times) / sum(p_times), 3),
            "requests": requests,
        }
    return rows


def beacon_visitors(scenario):
    """The package's clients for beacon tracking: a new visitor, one with a profile cookie."""
    return {"new": scenario.new_client(), "returning": returning_visitor(scenario)}


def get_all(client, url, requests, new_visitor):
    for _ in range(requests):
        if new_visitor:
            client.cookies.clear()
        timed(client, url)


def measure_beacon(scenario, requests):
    """The control page (it asks no segment): beacon tracking ÷ plain Wagtail, per request.

    Both stacks serve the same page and template; the package's adds the
    beacon's script tag. Requests alternate, after WARM_UP rounds.
    """
    from django.test import override_settings

    url, plain = scenario.control.url, scenario.plain_client
    rows = {}
    visitors = beacon_visitors(scenario)
    with override_settings(WAGTAIL_SEGMENTS=BEACON_TRACKING):
        for visitor, with_package in visitors.items():
            times = {"beacon": [], "plain": []}
            for n in range(requests + WARM_UP):
                pairs = [("beacon", with_package), ("plain", plain)]
                if n % 2:
                    pairs.reverse()
                for name, client in pairs:
                    if visitor == "new":
                        client.cookies.clear()
                    measured = timed(client, url)
                    if n >= WARM_UP:
                        times[name].append(measured)
            wall = {name: statistics.median(t[0] for t in found) for name, found in times.items()}
            cpu = {name: statistics.median(t[1] for t in found) for name, found in times.items()}
            rows[visitor] = {
                "plain_ms": round(wall["plain"] / 1e6, 3),
                "beacon_ms": round(wall["beacon"] / 1e6, 3),
                "latency_ratio": round(wall["beacon"] / wall["plain"], 3),
                "cpu_ratio": round(cpu["beacon"] / cpu["plain"], 3),
                "requests": requests,
            }
    return rows


def instruction_sections(scenario, requests):
    """Run the measured requests, each stack's inside ``sys.call_tracing`` (callgrind's toggle).

    The order is that of the dumps ``count_instructions`` reads.
    """
    from django.test import override_settings

    url, plain = scenario.control.url, scenario.plain_client
    visitors = beacon_visitors(scenario)
    # Under callgrind a request takes about a second: the definitions' once-a-second
    # version check (one cache read) would land on most requests, not one in hundreds.
    slow_clock = {**BEACON_TRACKING, "DEFINITIONS_RECHECK_SECONDS": 3600}
    with override_settings(WAGTAIL_SEGMENTS=slow_clock):
        for visitor, with_package in visitors.items():
            for client in (plain, with_package):
                get_all(client, url, WARM_UP, visitor == "new")
                gc.collect()  # each section starts with the same heap to collect
                sys.call_tracing(get_all, (client, url, requests, visitor == "new"))
    return [(visitor, stack) for visitor in visitors for stack in ("plain", "beacon")]


def count_instructions(database, segments, requests, scratch):
    """Instructions per request of the control page, beacon tracking and plain, by callgrind."""
    if not shutil.which("valgrind"):
        raise SystemExit("--instructions needs valgrind (apt-get install valgrind)")
    out = Path(scratch) / f"callgrind.out.n{segments}"
    command = [
        "valgrind",
        "--tool=callgrind",
        "--collect-atstart=no",
        f"--toggle-collect={CALLGRIND_TOGGLE}",
        f"--dump-after={CALLGRIND_TOGGLE}",
        f"--callgrind-out-file={out}",
        sys.executable,
        __file__,
        "--instructions-child",
        str(database),
        "--segments",
        str(segments),
        "--requests",
        str(requests),
    ]
    child = subprocess.run(command, check=True, capture_output=True, text=True)
    sections = json.loads(child.stdout.strip().splitlines()[-1])
    dumps = sorted(out.parent.glob(f"{out.name}.*"), key=lambda path: int(path.suffix[1:]))
    if len(dumps) != len(sections):  # a request ran the toggle itself: counts would be wrong
        raise SystemExit(f"callgrind wrote {len(dumps)} dumps for {len(sections)} sections")
    counts = {}
    for (visitor, stack), dump in zip(sections, dumps, strict=True):
        totals = next(line for line in dump.read_text().splitlines() if line.startswith("totals:"))
        counts.setdefault(visitor, {})[stack] = int(totals.split()[1]) // requests
    return {
        visitor: {**found, "ratio": round(found["beacon"] / found["plain"], 4)}
        for visitor, found in counts.items()
    }


def instruction_child(options):
    """Under callgrind: build the scenario in the given (migrated) database and run the sections."""
    set_up_django(options.instructions_child)
    from wagtail_segments.stats.recording import recorder

    recorder.autostart = False
    scenario = Scenario(options.segments[0])
    print(json.dumps(instruction_sections(scenario, options.requests)))


def queries_per_request(scenario):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    visitor, plain = returning_visitor(scenario), scenario.plain_client
    counts = {}
    for name, client, url in (
        ("control", plain, scenario.control.url),
        ("personalised", visitor, scenario.personalised.url),
    ):
        client.get(url)
        with CaptureQueriesContext(connection) as captured:
            client.get(url)
        counts[name] = len(captured)
    return counts


def cookie_size_after(scenario, page_views=1000):
    from wagtail_segments.conf import segments_settings

    client = scenario.new_client()
    pages = [scenario.personalised, scenario.control, *scenario.more_pages]
    for n in range(page_views):
        query = {"utm_campaign": f"campaign-{n}"} if n % 50 == 0 else {}
        client.get(pages[n % len(pages)].url, query)
    morsel = client.cookies[segments_settings.COOKIE_NAME]
    return len(f"{morsel.key}={morsel.value}")


def profile(scenario, requests, out):
    client = returning_visitor(scenario)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(requests):
        client.get(scenario.personalised.url)
    profiler.disable()
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text).sort_stats("tottime")
    stats.print_stats(45)
    out.write_text(text.getvalue())
    return out


def markdown(results):
    lines = [
        f"{results['machine']}, {results['date']}; Django's cache in {results['cache']}.",
        "",
        "| Segments defined | Used by the page | Visitor | Control (ms) | Personalised (ms) "
        "| Latency ratio | Throughput ratio | Queries control / personalised |",
        "| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for run in results["runs"]:
        for visitor, row in run["visitors"].items():
            lines.append(
                f"| {run['segments']} | {run['used']} | {visitor} | {row['control_ms']:.2f} "
                f"| {row['personalised_ms']:.2f} | {row['latency_ratio']:.2f}× "
                f"| {row['throughput_ratio']:.2f} "
                f"| {run['queries']['control']} / {run['queries']['personalised']} |"
            )
    lines.append("")
    lines.append(
        f"Profile cookie after 1,000 page views: {results['cookie_bytes']} bytes "
        "(name=value, budget 1,024)."
    )
    lines += [
        "",
        'The control page (it asks no segment) with TRACKING = "beacon" ÷ plain Wagtail:',
        "",
        "| Segments defined | Visitor | Plain (ms) | Beacon tracking (ms) | Latency ratio "
        "| CPU time ratio | Instructions plain / beacon | Instruction ratio |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for run in results["runs"]:
        counted = run.get("beacon_instructions", {})
        for visitor, row in run["beacon"].items():
            found = counted.get(visitor)
            instructions = f"{found['plain']:,} / {found['beacon']:,}" if found else "–"
            ratio = f"{found['ratio']:.3f}×" if found else "–"
            lines.append(
                f"| {run['segments']} | {visitor} | {row['plain_ms']:.2f} | {row['beacon_ms']:.2f} "
                f"| {row['latency_ratio']:.3f}× | {row['cpu_ratio']:.3f}× | {instructions} "
                f"| {ratio} |"
            )
    lines.append("")
    lines.append("Targets:")
    for target in results["targets"]:
        lines.append(
            f"- {'met' if target['met'] else 'MISSED'}: {target['what']} ({target['seen']})"
        )
    return "\n".join(lines) + "\n"


def beacon_ratios(run):
    counted = run.get("beacon_instructions")
    if counted:
        return [row["ratio"] for row in counted.values()]
    return [row["cpu_ratio"] for row in run["beacon"].values()]


def targets(runs, cookie_bytes):
    by_n = {run["segments"]: run for run in runs}
    found = []
    if 100 in by_n:
        worst = max(row["latency_ratio"] for row in by_n[100]["visitors"].values())
        found.append(
            {
                "what": "≤ 10 % slower at 100 segments",
                "met": worst <= 1.10,
                "seen": f"worst latency ratio {worst:.2f}",
            }
        )
    added = max(run["queries"]["personalised"] - run["queries"]["control"] for run in runs)
    found.append(
        {"what": "zero added SQL queries", "met": added <= 0, "seen": f"at most {added} added"}
    )
    if 100 in by_n and 1000 in by_n:
        ratios = [
            by_n[1000]["visitors"][v]["latency_ratio"] / by_n[100]["visitors"][v]["latency_ratio"]
            for v in by_n[100]["visitors"]
        ]
        found.append(
            {
                "what": "flat in unused segments (1,000 defined ≈ 100 defined, same page)",
                "met": max(ratios) <= 1.05,
                "seen": f"1,000 vs 100: ×{max(ratios):.2f} at worst",
            }
        )
    # Instructions where counted (steady on a busy machine), else CPU time.
    beacon = [ratio for run in runs for ratio in beacon_ratios(run)]
    found.append(
        {
            "what": "a page asking nothing, beacon tracking ≤ 1.02× plain Wagtail",
            "met": max(beacon) <= 1.02,
            "seen": f"worst ratio {max(beacon):.3f}",
        }
    )
    found.append(
        {
            "what": "profile cookie ≤ 1 KB after 1,000 page views",
            "met": cookie_bytes <= 1024,
            "seen": f"{cookie_bytes} bytes",
        }
    )
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, nargs="+", default=[0, 10, 100, 1000])
    parser.add_argument("--requests", type=int, default=200, help="timed requests per page")
    parser.add_argument("--profile", action="store_true", help="profile N = 100 (or the last N)")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument(
        "--redis", metavar="URL", help="Django's cache in Redis (its database is flushed)"
    )
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="count instructions with callgrind (the beacon comparison; slow)",
    )
    parser.add_argument("--instructions-child", type=Path, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.instructions_child:
        return instruction_child(options)

    with tempfile.TemporaryDirectory() as scratch:
        database = Path(scratch) / "benchmark.sqlite3"
        set_up_django(database, options.redis)
        from django.core.cache import cache
        from django.db import connections

        from wagtail_segments.stats.recording import recorder

        # Counts are written between scenarios, not by the writer thread: on SQLite
        # its writes would lock the database while a scenario is being built.
        recorder.autostart = False
        runs = []
        for segments in options.segments:
            recorder.flush()
            cache.clear()
            scenario = Scenario(segments)
            runs.append(
                {
                    "segments": segments,
                    "used": scenario.used,
                    "visitors": measure(scenario, options.requests),
                    "queries": queries_per_request(scenario),
                    "beacon": measure_beacon(scenario, options.requests),
                }
            )
            print(f"N = {segments}: {json.dumps(runs[-1]['visitors'])}", flush=True)
            print(f"N = {segments}, beacon: {json.dumps(runs[-1]['beacon'])}", flush=True)
        cookie_bytes = cookie_size_after(scenario)
        if options.instructions:  # a child under callgrind rebuilds each scenario it measures
            recorder.flush()
            for run in runs:
                connections.close_all()
                run["beacon_instructions"] = count_instructions(
                    database, run["segments"], INSTRUCTION_REQUESTS, scratch
                )
                print(f"N = {run['segments']}, instructions: {run['beacon_instructions']}")
        results = {
            "machine": f"{platform.machine()}, Python {platform.python_version()}",
            "cache": "Redis" if options.redis else "local memory",
            "date": time.strftime("%Y-%m-%d"),
            "runs": runs,
            "cookie_bytes": cookie_bytes,
            "targets": targets(runs, cookie_bytes),
        }
        options.output.mkdir(parents=True, exist_ok=True)
        (options.output / "results.json").write_text(json.dumps(results, indent=2) + "\n")
        (options.output / "results.md").write_text(markdown(results))
        print(markdown(results))
        if options.profile:
            n = 100 if 100 in options.segments else options.segments[-1]
            recorder.flush()
            scenario = Scenario(n)
            path = profile(scenario, options.requests, options.output / "profile.txt")
            print(f"Profile of the personalised page at N = {n}: {path}")
        recorder.flush()  # while the scratch database still exists


if __name__ == "__main__":
    main()
