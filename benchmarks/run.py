"""Benchmark: a personalised Wagtail page against plain Wagtail serving the same HTML.

    make benchmark                      # N = 0, 10, 100, 1000; writes benchmarks/results/*
    .venv/bin/python benchmarks/run.py --segments 100 --requests 100 --profile
    .venv/bin/python benchmarks/run.py --redis redis://127.0.0.1:6379/9   # cache in Redis
    .venv/bin/python benchmarks/run.py --segments 100 --instructions      # and callgrind counts

Each scenario is a pair (segments defined, segments used): (N, min(N, 100))
for each N asked, plus (10, 3) and (1,000, 3) when 10 and 1,000 are both
asked, so that unused segments show what they cost. Each segment has 5
rules of mixed types, ordered so that most of them are evaluated: an "all"
segment stops at its first rule that fails, so the rules likely to hold come
first; an "any" segment stops at its first rule that holds, so the rules
likely to fail come first. The personalised page has one personalised block
for each segment used, plus plain paragraphs.

There are two visitors: a new one (no cookie, on every request) and a
returning one, who arrived from a partner's site with a campaign and viewed
12 pages. For each, the personalised page is rendered once through the
package, then a control page is built of plain blocks holding the texts
that visitor was shown: its HTML must equal theirs, bar the blocks' type
class and the package's script tags. Plain Wagtail (the Django stack without
SegmentsMiddleware) serves that control. A page that asks no segment is
compared too, served by the package with the default tracking and with
``TRACKING = "beacon"``.

Each comparison runs in rounds, in process, the two requests of a round in
a random (seeded) order, so the machine's drift hits both alike. It reports
min / median / max wall-clock times, the median ratio, and the ratio of the
median process CPU times; ``--instructions`` adds the instructions callgrind
counts for the same requests (steady within about 1 %, where the clocks of
a busy machine are not). Also reported: writing the stats counters that the
measured requests left (``recorder.flush()``), the rule checks of a request,
SQL queries per request, and the profile cookie's size after 1,000 page views.
"""

import argparse
import cProfile
import gc
import html
import io
import json
import os
import platform
import pstats
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
BROWSER_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0 Safari/537.36"
)
USED_AT_MOST = 100
FEW_USED = 3  # with 10 and with 1,000 defined: do unused segments cost anything?
PLAIN_PARAGRAPHS = 20
TOPICS = 10
WARM_UP = 10
SEED = 2024  # the order of each round's two requests
RULE_CHECK_REQUESTS = 10
BEACON_TRACKING = {"TRACKING": "beacon"}
PAGES = ("personalised", "asks nothing", "asks nothing, beacon")
# Callgrind counts only inside this C function (``sys.call_tracing``, which nothing but
# debuggers calls), in which the measured requests run.
CALLGRIND_TOGGLE = "sys_call_tracing"
INSTRUCTION_REQUESTS = 10  # per section: the counts vary far less than clocks
INSTRUCTION_WARM_UP = 3
# Under callgrind a request takes about a second: the definitions' once-a-second
# version check (one cache read) would land on most requests, not one in hundreds.
SLOW_CLOCK = {"DEFINITIONS_RECHECK_SECONDS": 3600}
# What legitimately differs between a personalised page and its same-HTML control.
SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>", re.DOTALL)
OFFER = re.compile(r'<p class="offer">(.*?)</p>', re.DOTALL)


def set_up_django(database, redis_url=None, migrate=True):
    sys.path[:0] = [str(ROOT), str(ROOT / "sandbox")]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    os.environ["DATABASE_URL"] = f"sqlite:///{database}"
    os.environ["DEBUG"] = "0"
    if redis_url:  # Django's cache in Redis, as in production (else local memory)
        os.environ["REDIS_URL"] = redis_url
    import django

    django.setup()
    from django.core.management import call_command

    if migrate:
        call_command("migrate", verbosity=0)


def rules_for(number):
    """Five rules of mixed types: odd segments match "all" of them, even ones "any".

    The returning visitor (desktop, in their first visit, from partner3.example
    with campaign-3, a score of 3 or more in every topic) passes the first three
    rules of an "all" segment and fails the fourth (segment 3 fails none); a new
    visitor fails the third. Both fail the first three of an "any" segment, for
    mobile visitors, and one "any" segment in five holds at its last rule.
    """
    campaign = {"type": "utm", "value": {"parameter": "campaign", "value": f"campaign-{number}"}}
    referrer = {
        "type": "referrer",
        "value": {"match": "contains", "value": f"partner{number}.example"},
    }
    topic = f"topic-{number % TOPICS}"
    if number % 2:
        return [
            {"type": "device", "value": {"device_type": "desktop"}},
            {"type": "visit_count", "value": {"operator": "gte", "count": 1}},
            {
                "type": "interest_score",
                "value": {"interest": topic, "operator": "gte", "score": 2},
            },
            referrer,
            campaign,
        ]
    return [
        campaign,
        referrer,
        {"type": "device", "value": {"device_type": "mobile"}},
        {"type": "interest_score", "value": {"interest": topic, "operator": "gte", "score": 20}},
        {"type": "visit_count", "value": {"operator": "gte", "count": number % 5 + 1}},
    ]


def scenarios(asked):
    """The (defined, used) pairs for the numbers of segments asked."""
    pairs = [(n, min(n, USED_AT_MOST)) for n in asked]
    if 10 in asked and 1000 in asked:
        pairs += [(10, FEW_USED), (1000, FEW_USED)]
    return pairs


def offer_texts(n):
    """The default and the variant of the personalised page's block ``n``."""
    return f"Offer {n} for everyone", f"Offer {n} for segment {n}"


def offer(n):
    """Block ``n`` of the personalised page: a default, and a variant for segment ``n``."""
    default, variant = offer_texts(n)
    for_segment = {"segments": [f"segment-{n}"], "match": "any", "hide": False, "value": variant}
    return ("offer", {"default": default, "variants": [for_segment]})


def normalised(text):
    """A page's HTML without what legitimately differs from its same-HTML control."""
    return SCRIPT.sub("", text).replace('<p class="offer">', '<p class="text">')


def fresh_scenario(segments, used):
    """A scenario built on an empty cache, once the counts so far are written."""
    from django.core.cache import cache

    from wagtail_segments.stats.recording import recorder

    recorder.flush()
    cache.clear()
    return Scenario(segments, used)


class Scenario:
    """The segments, the pages, the visitors and the two Django stacks for one pair."""

    def __init__(self, segments, used):
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
        self.segments, self.used = segments, used
        Page.objects.filter(depth=2).delete()  # the previous scenario's site
        self.root = make_site_with_pages()["root"]
        self.personalised = self.add_page("personalised", [offer(n) for n in range(used)])
        self.control = self.add_page("control", [("text", offer_texts(n)[0]) for n in range(used)])
        for page in (self.personalised, self.control):
            PageInterest.objects.create(page=page, interest=interests[0], points=5)
        self.more_pages = [self.add_page(f"page-{n}", []) for n in range(30)]
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

        # The control's stack: the same settings without the package's middleware. A
        # client's handler loads its middleware on its first request, and keeps it.
        plain = [m for m in settings.MIDDLEWARE if "wagtail_segments" not in m]
        with override_settings(MIDDLEWARE=plain):
            self.plain_client = Client(HTTP_USER_AGENT=BROWSER_UA)
            self.plain_client.get(self.control.url)
        self.visitors = {"new": self.new_client(), "returning": returning_visitor(self)}
        self.shown, self.same_html = {}, {}
        for visitor in self.visitors:
            self.same_html[visitor] = self.same_html_control(visitor)

    def new_client(self):
        """A client for a visitor the site has never seen (the package's stack)."""
        from django.test import Client

        return Client(HTTP_USER_AGENT=BROWSER_UA)

    def add_page(self, slug, blocks, title=None):
        """A page of ``blocks`` followed by the plain paragraphs."""
        from tests.testapp.models import PersonalisedPage

        paragraphs = [f"Plain paragraph {n} of the page." for n in range(PLAIN_PARAGRAPHS)]
        body = [*blocks, *(("text", text) for text in paragraphs)]
        page = PersonalisedPage(title=title or slug.title(), slug=slug, body=body)
        return self.root.add_child(instance=page)

    def same_html_control(self, visitor):
        """A page of plain blocks with the texts ``visitor`` is shown on the personalised page."""
        served = fetch(self.visitors[visitor], self.personalised.url, visitor == "new")
        texts = [html.unescape(text) for text in OFFER.findall(served)]
        if len(texts) != self.used or any(
            text not in offer_texts(n) for n, text in enumerate(texts)
        ):
            raise SystemExit(f"The {visitor} visitor was shown unexpected offers: {texts[:5]}")
        self.shown[visitor] = sum(text != offer_texts(n)[0] for n, text in enumerate(texts))
        control = self.add_page(
            f"same-html-{visitor}", [("text", text) for text in texts], self.personalised.title
        )
        check_same_html(visitor, served, fetch(self.plain_client, control.url, False))
        return control

    def check_same_html(self, visitor):
        """Whether the package still serves ``visitor`` what their control shows."""
        served = fetch(self.visitors[visitor], self.personalised.url, visitor == "new")
        control = fetch(self.plain_client, self.same_html[visitor].url, False)
        check_same_html(visitor, served, control)


def fetch(client, url, new_visitor):
    """The HTML of one request."""
    if new_visitor:
        client.cookies.clear()
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.content.decode()


def check_same_html(visitor, personalised, control):
    """Exit, showing the first difference, unless the two pages' HTML are the same."""
    personalised, control = normalised(personalised), normalised(control)
    if personalised != control:
        at = len(os.path.commonprefix([personalised, control]))
        start = max(at - 80, 0)
        raise SystemExit(
            f"The {visitor} visitor's control page does not render their HTML; first "
            f"difference at character {at}:\n"
            f"  personalised: {personalised[start : at + 80]!r}\n"
            f"  control:      {control[start : at + 80]!r}"
        )


def timed(client, url):
    """Wall-clock and process CPU nanoseconds of one request."""
    start, start_cpu = time.perf_counter_ns(), time.process_time_ns()
    response = client.get(url)
    elapsed, cpu = time.perf_counter_ns() - start, time.process_time_ns() - start_cpu
    assert response.status_code == 200, (url, response.status_code)
    return elapsed, cpu


def returning_visitor(scenario):
    """A visitor with history: from a partner's site with a campaign, then page views."""
    client = scenario.new_client()
    client.get(
        scenario.more_pages[0].url,
        {"utm_campaign": "campaign-3"},
        HTTP_REFERER="https://partner3.example/",
    )
    for page in scenario.more_pages[:12]:
        client.get(page.url)
    return client


def compare(package, package_url, plain, plain_url, requests, new_visitor, rng):
    """The package's request against plain Wagtail's, in rounds of both in a random order."""
    times = {"package": [], "plain": []}
    for n in range(requests + WARM_UP):
        pairs = [("package", package, package_url), ("plain", plain, plain_url)]
        rng.shuffle(pairs)
        for name, client, url in pairs:
            if new_visitor:
                client.cookies.clear()
            measured = timed(client, url)
            if n >= WARM_UP:  # the first rounds warm caches
                times[name].append(measured)
    wall = {name: [t[0] for t in found] for name, found in times.items()}
    cpu = {name: statistics.median(t[1] for t in found) for name, found in times.items()}
    median = {name: statistics.median(found) for name, found in wall.items()}
    return {
        "plain_ms": round(median["plain"] / 1e6, 3),
        "package_min_ms": round(min(wall["package"]) / 1e6, 3),
        "package_ms": round(median["package"] / 1e6, 3),
        "package_max_ms": round(max(wall["package"]) / 1e6, 3),
        "latency_ratio": round(median["package"] / median["plain"], 3),
        "cpu_ratio": round(cpu["package"] / cpu["plain"], 3),
        "throughput_ratio": round(sum(wall["plain"]) / sum(wall["package"]), 3),
        "requests": requests,
    }


def measure(scenario, requests, rng):
    """Each visitor's pages against plain Wagtail, and the stats flush their requests need.

    The personalised page is compared with its same-HTML control, the page
    that asks nothing with itself; the flush writes what the requests with
    the default tracking counted (beacon tracking counts nothing on a page).
    """
    from django.test import override_settings

    from wagtail_segments.stats.recording import recorder

    plain, control = scenario.plain_client, scenario.control.url
    rows = {visitor: {} for visitor in scenario.visitors}
    recorder.flush()
    for visitor, client in scenario.visitors.items():
        new = visitor == "new"
        rows[visitor]["personalised"] = compare(
            client,
            scenario.personalised.url,
            plain,
            scenario.same_html[visitor].url,
            requests,
            new,
            rng,
        )
        rows[visitor]["asks nothing"] = compare(client, control, plain, control, requests, new, rng)
    flush = timed_flush(len(rows) * 2 * (requests + WARM_UP))
    with override_settings(WAGTAIL_SEGMENTS=BEACON_TRACKING):
        for visitor, client in scenario.visitors.items():
            rows[visitor]["asks nothing, beacon"] = compare(
                client, control, plain, control, requests, visitor == "new", rng
            )
    for visitor in scenario.visitors:  # the verdicts did not drift during the rounds
        scenario.check_same_html(visitor)
    return rows, flush


def timed_flush(requests):
    """Write the pending stats counters: the time it takes, in all and per request served."""
    from wagtail_segments.stats.recording import recorder

    gc.collect()
    start, start_cpu = time.perf_counter_ns(), time.process_time_ns()
    written = recorder.flush()
    elapsed, cpu = time.perf_counter_ns() - start, time.process_time_ns() - start_cpu
    return {
        "requests": requests,
        "counters": written,
        "ms": round(elapsed / 1e6, 3),
        "cpu_ms": round(cpu / 1e6, 3),
        "per_request_us": round(elapsed / requests / 1e3, 1),
    }


def rule_checks_per_request(scenario):
    """Rules checked per request of the personalised page, by visitor (outside timed requests).

    The scenario's rules are all built in: each check is one call of a rule's ``matches``.
    """
    from wagtail_segments.rules.registry import registry

    checks = {}
    for visitor, client in scenario.visitors.items():
        with ExitStack() as stack:
            counted = [
                stack.enter_context(mock.patch.object(rule, "matches", wraps=rule.matches))
                for rule in registry.builtin.values()
            ]
            get_all(client, scenario.personalised.url, RULE_CHECK_REQUESTS, visitor == "new")
        checks[visitor] = sum(check.call_count for check in counted) / RULE_CHECK_REQUESTS
    return checks


def get_all(client, url, requests, new_visitor):
    for _ in range(requests):
        if new_visitor:
            client.cookies.clear()
        timed(client, url)


def instruction_sections(scenario, requests):
    """Run each measured section inside ``sys.call_tracing`` (callgrind's toggle).

    Returns the sections' names, in the order of the dumps ``count_instructions``
    reads, and the requests whose counts the flush section writes.
    """
    from django.test import override_settings

    from wagtail_segments.stats.recording import recorder

    plain, control = scenario.plain_client, scenario.control.url
    sections = []

    def section(name, client, url, new_visitor):
        get_all(client, url, INSTRUCTION_WARM_UP, new_visitor)
        gc.collect()  # each section starts with the same heap to collect
        sys.call_tracing(get_all, (client, url, requests, new_visitor))
        sections.append(name)

    recorder.flush()
    with override_settings(WAGTAIL_SEGMENTS=SLOW_CLOCK):
        section((None, "plain", "asks nothing"), plain, control, False)
        for visitor, client in scenario.visitors.items():
            new = visitor == "new"
            section((visitor, "plain", "personalised"), plain, scenario.same_html[visitor].url, new)
            section((visitor, "package", "personalised"), client, scenario.personalised.url, new)
            section((visitor, "package", "asks nothing"), client, control, new)
        gc.collect()
        sys.call_tracing(recorder.flush, ())
        sections.append((None, "flush", None))
    with override_settings(WAGTAIL_SEGMENTS={**SLOW_CLOCK, **BEACON_TRACKING}):
        section((None, "plain", "asks nothing, beacon"), plain, control, False)
        for visitor, client in scenario.visitors.items():
            section((visitor, "package", "asks nothing, beacon"), client, control, visitor == "new")
    for visitor in scenario.visitors:  # the verdicts did not drift during the sections
        scenario.check_same_html(visitor)
    flushed = len(scenario.visitors) * 2 * (INSTRUCTION_WARM_UP + requests)
    return {"sections": sections, "flushed_requests": flushed}


def count_instructions(database, pairs, scratch):
    """Instructions per request of each visitor's pages, plain and with the package.

    One child under callgrind measures the scenarios ``pairs`` in turn, in a copy
    of the migrated ``database`` (children run side by side).
    """
    if not shutil.which("valgrind"):
        raise SystemExit("--instructions needs valgrind (apt-get install valgrind)")
    here = Path(tempfile.mkdtemp(dir=scratch))
    copy = shutil.copy(database, here / "benchmark.sqlite3")
    out = here / "callgrind.out"
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
        str(copy),
        "--requests",
        str(INSTRUCTION_REQUESTS),
    ]
    for segments, used in pairs:
        command += ["--scenario", str(segments), str(used)]
    child = subprocess.run(command, capture_output=True, text=True)
    if child.returncode:
        raise SystemExit(f"The callgrind child for {pairs} failed:\n{child.stderr[-3000:]}")
    found = json.loads(child.stdout.strip().splitlines()[-1])
    dumps = sorted(here.glob(f"{out.name}.*"), key=lambda path: int(path.suffix[1:]))
    sections = [section for measured in found for section in measured["sections"]]
    if len(dumps) != len(sections):  # a request ran the toggle: counts would be wrong
        raise SystemExit(f"callgrind wrote {len(dumps)} dumps for {len(sections)} sections")
    totals = iter(map(total, dumps))
    return [per_request(measured, totals) for measured in found]


def total(dump):
    """The instructions a callgrind dump counted."""
    line = next(line for line in dump.read_text().splitlines() if line.startswith("totals:"))
    return int(line.split()[1])


def per_request(measured, totals):
    """A scenario's counts per request from its sections' ``totals``, in dump order."""
    counts = {tuple(name): next(totals) for name in measured["sections"]}
    flush, requests = counts.pop((None, "flush", None)), measured["flushed_requests"]
    result = {
        "flush": {"requests": requests, "instructions": flush, "per_request": flush // requests}
    }
    for (visitor, stack, page), count in counts.items():
        if stack == "plain":
            continue
        plain = counts.get((visitor, "plain", page)) or counts[(None, "plain", page)]
        result.setdefault(visitor, {})[page] = {
            "plain": plain // INSTRUCTION_REQUESTS,
            "package": count // INSTRUCTION_REQUESTS,
            "ratio": round(count / plain, 4),
        }
    return result


def instruction_child(options):
    """Under callgrind: build each scenario in the given (migrated) database, run its sections."""
    set_up_django(options.instructions_child, migrate=False)
    from wagtail_segments.stats.recording import recorder

    recorder.autostart = False
    found = [
        instruction_sections(fresh_scenario(*pair), options.requests) for pair in options.scenario
    ]
    print(json.dumps(found))


def queries_per_request(scenario):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = {}
    for name, client, url in (
        ("control", scenario.plain_client, scenario.same_html["returning"].url),
        ("personalised", scenario.visitors["returning"], scenario.personalised.url),
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
    client = scenario.visitors["returning"]
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


def pair(run):
    return f"({run['segments']}, {run['used']})"


def markdown(results):
    lines = [
        f"{results['machine']}, {results['date']}; Django's cache in {results['cache']}.",
        "",
        "The personalised page against plain Wagtail serving the same HTML (the texts the "
        "visitor was shown, as plain blocks), and a page that asks no segment against plain "
        "Wagtail serving it:",
        "",
        "| Segments defined | Used | Visitor | Page | Plain (ms, median) "
        "| Package (ms, min/median/max) | CPU ratio | Instructions plain / package "
        "| Instruction ratio |",
        "| ---: | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for run in results["runs"]:
        for visitor, pages in run["pages"].items():
            for page in PAGES:
                row = pages[page]
                found = run.get("instructions", {}).get(visitor, {}).get(page)
                instructions = f"{found['plain']:,} / {found['package']:,}" if found else "–"
                ratio = f"{found['ratio']:.3f}×" if found else "–"
                lines.append(
                    f"| {run['segments']} | {run['used']} | {visitor} | {page} "
                    f"| {row['plain_ms']:.2f} | {row['package_min_ms']:.2f} / "
                    f"{row['package_ms']:.2f} / {row['package_max_ms']:.2f} "
                    f"| {row['cpu_ratio']:.3f}× | {instructions} | {ratio} |"
                )
    lines += [
        "",
        "Writing the stats counters that a scenario's measured requests (default tracking) "
        "left, `recorder.flush()`:",
        "",
        "| Segments defined | Used | Requests since the previous flush | Counters written "
        "| Flush (ms) | CPU (ms) | Per request (µs) | Instructions | Instructions per request |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for run in results["runs"]:
        flush, counted = run["flush"], run.get("instructions", {}).get("flush")
        instructions = (
            f"{counted['instructions']:,} ({counted['requests']} requests) | "
            f"{counted['per_request']:,}"
            if counted
            else "– | –"
        )
        lines.append(
            f"| {run['segments']} | {run['used']} | {flush['requests']} | {flush['counters']} "
            f"| {flush['ms']:.1f} | {flush['cpu_ms']:.1f} | {flush['per_request_us']:.1f} "
            f"| {instructions} |"
        )
    lines += [
        "",
        "SQL queries per request, plain Wagtail / the personalised page (returning visitor), "
        "by (defined, used): "
        + "; ".join(
            f"{pair(run)}: {run['queries']['control']} / {run['queries']['personalised']}"
            for run in results["runs"]
        )
        + ".",
        "",
        "Variants shown on the personalised page, new / returning visitor: "
        + "; ".join(
            f"{pair(run)}: {run['shown']['new']} / {run['shown']['returning']}"
            for run in results["runs"]
        )
        + ".",
    ]
    for run in results["runs"]:
        if "rule_checks" in run:
            checks = run["rule_checks"]
            lines += [
                "",
                f"Rule checks per request of the personalised page at {pair(run)}: "
                f"{checks['returning']:.1f} for the returning visitor, {checks['new']:.1f} "
                "for a new one.",
            ]
    lines += [
        "",
        f"Profile cookie after 1,000 page views: {results['cookie_bytes']} bytes "
        "(name=value, budget 1,024).",
        "",
        "Targets:",
    ]
    for target in results["targets"]:
        lines.append(
            f"- {'met' if target['met'] else 'MISSED'}: {target['what']} ({target['seen']})"
        )
    return "\n".join(lines) + "\n"


def ratios(run, page):
    """Each visitor's ratio for ``page``: instructions where counted (steady), else CPU time."""
    counted = run.get("instructions")
    if counted:
        return {visitor: counted[visitor][page]["ratio"] for visitor in run["pages"]}
    return {visitor: pages[page]["cpu_ratio"] for visitor, pages in run["pages"].items()}


def measure_name(runs):
    return "instruction ratio" if all("instructions" in run for run in runs) else "CPU ratio"


def targets(runs, cookie_bytes):
    by_pair = {(run["segments"], run["used"]): run for run in runs}
    found = []
    if (100, 100) in by_pair:
        run = by_pair[(100, 100)]
        worst = max(ratios(run, "personalised").values())
        found.append(
            {
                "what": "personalised at 100 segments ≤ 1.10× plain Wagtail serving the same HTML",
                "met": worst <= 1.10,
                "seen": f"worst {measure_name([run])} {worst:.3f}",
            }
        )
    asks_nothing = [
        ratio
        for run in runs
        for page in ("asks nothing", "asks nothing, beacon")
        for ratio in ratios(run, page).values()
    ]
    found.append(
        {
            "what": "a page that asks nothing ≤ 1.02× plain Wagtail (default and beacon tracking)",
            "met": max(asks_nothing) <= 1.02,
            "seen": f"worst {measure_name(runs)} {max(asks_nothing):.3f}",
        }
    )
    if (10, FEW_USED) in by_pair and (1000, FEW_USED) in by_pair:
        few, many = by_pair[(10, FEW_USED)], by_pair[(1000, FEW_USED)]
        more = {
            visitor: ratios(many, "personalised")[visitor] / ratios(few, "personalised")[visitor]
            for visitor in many["pages"]
        }
        found.append(
            {
                "what": f"1,000 segments defined, {FEW_USED} used within 10 % of 10 defined, "
                f"{FEW_USED} used (new and returning visitors)",
                "met": max(more.values()) <= 1.10,
                "seen": ", ".join(f"{visitor} ×{value:.3f}" for visitor, value in more.items())
                + f" ({measure_name([few, many])})",
            }
        )
    added = max(run["queries"]["personalised"] - run["queries"]["control"] for run in runs)
    found.append(
        {"what": "zero added SQL queries", "met": added <= 0, "seen": f"at most {added} added"}
    )
    found.append(
        {
            "what": "profile cookie ≤ 1,024 bytes after 1,000 page views",
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
        help="count instructions with callgrind as well (slow)",
    )
    parser.add_argument("--instructions-child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--scenario", type=int, nargs=2, action="append", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.instructions_child:
        return instruction_child(options)

    with tempfile.TemporaryDirectory() as scratch:
        database = Path(scratch) / "benchmark.sqlite3"
        set_up_django(database, options.redis)
        migrated = shutil.copy(database, Path(scratch) / "migrated.sqlite3")
        from wagtail_segments.stats.recording import recorder

        # Counts are written between scenarios, not by the writer thread: on SQLite
        # its writes would lock the database while a scenario is being built.
        recorder.autostart = False
        rng = random.Random(SEED)
        runs = []
        for segments, used in scenarios(options.segments):
            scenario = fresh_scenario(segments, used)
            pages, flush = measure(scenario, options.requests, rng)
            runs.append(
                {
                    "segments": segments,
                    "used": used,
                    "shown": scenario.shown,
                    "pages": pages,
                    "flush": flush,
                    "queries": queries_per_request(scenario),
                }
            )
            if (segments, used) == (100, 100):
                runs[-1]["rule_checks"] = rule_checks_per_request(scenario)
            print(f"{pair(runs[-1])}: {json.dumps(runs[-1])}", flush=True)
        cookie_bytes = cookie_size_after(scenario)
        if options.instructions:  # children under callgrind rebuild the scenarios they measure
            children = os.cpu_count() or 1
            shares = [runs[n::children] for n in range(children) if runs[n::children]]
            with ThreadPoolExecutor(len(shares)) as pool:
                counted = pool.map(
                    lambda share: count_instructions(
                        migrated, [(run["segments"], run["used"]) for run in share], scratch
                    ),
                    shares,
                )
                for share, found in zip(shares, counted, strict=True):
                    for run, instructions in zip(share, found, strict=True):
                        run["instructions"] = instructions
                        print(f"{pair(run)}, instructions: {json.dumps(instructions)}", flush=True)
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
            scenario = fresh_scenario(n, min(n, USED_AT_MOST))
            path = profile(scenario, options.requests, options.output / "profile.txt")
            print(f"Profile of the personalised page at N = {n}: {path}")
        recorder.flush()  # while the scratch database still exists


if __name__ == "__main__":
    main()
