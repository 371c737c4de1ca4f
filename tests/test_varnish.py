"""Varnish with the docs' VCL (docs/how-to/varnish.vcl) in front of gunicorn.

tests/proxy_site.py builds the site in a throwaway database: an offers page with
a variant for each of 4 segments (a campaign, a referrer, returning visitors, an
interest score) and ordinary pages. gunicorn (2 workers) serves it in the
segment-keyed cache mode with the database profile store, Varnish runs in front,
and a mix of visitors goes through Varnish, each with its own cookie jar:

- warm-up: the returning visitors' earlier visit (their profiles were stored as
  that visit began), one new visitor and a bot walking every page;
- then, 4 at a time: the returning visitors come back, new visitors land from
  the campaign, from the partner site or from nowhere, visitors come back with
  cookies the site no longer honours (signed with an older secret key, a key of
  segments since changed: Django gives them a new id on pages Varnish looks up),
  bots crawl, and editors log in, view a draft and view the site as a segment.

Every page a visitor is shown must be their own segment's; no visitor may get
another's cookie; nothing an editor or a preview sees may come from the cache.
The share of anonymous page views Varnish served after warm-up is printed at
the end of the run, with the other figures.
"""

import importlib.util
import json
import os
import random
import re
import shutil
import subprocess
import sys
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from tests.factories import BOT_UA, BROWSER_UA, spare_port
from tests.proxy_site import OFFER_SEGMENTS, ORDINARY_PAGES

ROOT = Path(__file__).resolve().parent.parent
VCL = ROOT / "docs" / "how-to" / "varnish.vcl"
VCL_BACKEND_PORT = '.port = "8000";'
VARNISHD = shutil.which("varnishd") or shutil.which("varnishd", path="/usr/sbin")
GUNICORN = importlib.util.find_spec("gunicorn") is not None

pytestmark = [
    pytest.mark.proxy,
    pytest.mark.skipif(not VARNISHD, reason="varnishd is missing: install Debian's varnish"),
    pytest.mark.skipif(not GUNICORN, reason="gunicorn is missing: it comes with the testing extra"),
]

KEY_COOKIE = "wagtail_segments_key"
# The same value for visitors who are in the same segments, or view the site as the same.
SHARED_BY_DESIGN = {KEY_COOKIE, "wagtail_segments_view_as"}
PAGES = ["/", *(f"/{slug}/" for slug in ORDINARY_PAGES), "/offers/"]
WEIGHTS = [1] * (len(PAGES) - 1) + [3]  # the personalised page is the one most visited
RETURNING_PER_SEGMENT = 12
NEW_VISITORS = {"spring": 16, "partner": 8, None: 8}  # by the segment their landing puts them in
STALE_VISITORS = 8
STALE_KEY = "5ca1ab1e5ca1ab1e"
BOTS = 10
EDITORS = 3
PARTNER = "https://partner.example/rates/"


@dataclass
class Visitor:
    name: str
    kind: str  # "returning", "new", "stale", "bot" or "editor"
    segment: str | None  # whose variant it is shown; None: the default content
    session: requests.Session


@dataclass
class Seen:
    """One response as its visitor got it: X-Cache, the texts shown, the cookies set."""

    visitor: Visitor
    phase: str
    path: str
    cache: str
    shown: list
    cookies: dict
    expected: list | None


@dataclass
class Proxy:
    base: str
    site: dict
    site_dir: Path  # gunicorn's and Varnish's logs are there
    seen: list = field(default_factory=list)

    def send(self, visitor, phase, path, method="GET", expected=None, **kwargs):
        response = visitor.session.request(
            method, self.base + path, allow_redirects=False, timeout=30, **kwargs
        )
        if response.status_code >= 500:
            logs = "\n".join(log.read_text()[-3000:] for log in self.site_dir.glob("*.log"))
            pytest.fail(f"{method} {path}: {response.status_code}\n{logs}")
        self.seen.append(
            Seen(
                visitor,
                phase,
                path,
                response.headers.get("X-Cache", ""),
                re.findall(r"offer-[a-z-]+|page-[a-z]+", response.text),
                {cookie.name: cookie.value for cookie in response.cookies},
                expected,
            )
        )
        return response

    def view(self, visitor, phase, path, segment, **headers):
        """A page view that must show ``segment``'s content (None: the default)."""
        self.send(visitor, phase, path, expected=expected_text(path, segment), headers=headers)


def expected_text(path, segment):
    path = path.split("?")[0]
    if path == "/offers/":
        return [f"offer-for-{segment}" if segment else "offer-default"]
    return [f"page-{path.strip('/') or 'home'}"]


def new_session(user_agent):
    session = requests.Session()
    session.headers["User-Agent"] = user_agent
    return session


def start(command, log, env=None):
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def wait_until_serving(url, process, log):
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{url} did not start:\n{log.read_text()[-3000:]}")
        try:
            requests.get(url, headers={"User-Agent": BOT_UA}, timeout=30)
            return
        except (requests.ConnectionError, requests.Timeout):
            time.sleep(0.2)
    pytest.fail(f"{url} did not answer within a minute:\n{log.read_text()[-3000:]}")


def stop(process):
    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


@pytest.fixture(scope="module")
def proxy(tmp_path_factory):
    site_dir = tmp_path_factory.mktemp("proxy-site")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.proxy_settings",
        "WAGTAIL_SEGMENTS_PROXY_DIR": str(site_dir),
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "sandbox")]),
    }
    built = subprocess.run(
        [sys.executable, "-m", "tests.proxy_site", str(RETURNING_PER_SEGMENT)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    site = json.loads(built.stdout.splitlines()[-1])
    vcl = VCL.read_text()
    assert VCL_BACKEND_PORT in vcl, f"{VCL} no longer names its backend port as {VCL_BACKEND_PORT}"
    app_port, cache_port = spare_port(), spare_port()
    (site_dir / "site.vcl").write_text(vcl.replace(VCL_BACKEND_PORT, f'.port = "{app_port}";'))
    gunicorn_log, varnish_log = site_dir / "gunicorn.log", site_dir / "varnish.log"
    processes = []
    with gunicorn_log.open("w") as app_out, varnish_log.open("w") as cache_out:
        try:
            app = start(
                [
                    *(sys.executable, "-m", "gunicorn", "bank.wsgi:application"),
                    *("--bind", f"127.0.0.1:{app_port}", "--workers", "2"),
                    *("--log-level", "warning"),
                ],
                app_out,
                env,
            )
            processes.append(app)
            wait_until_serving(f"http://127.0.0.1:{app_port}/", app, gunicorn_log)
            cache = start(
                [
                    *(VARNISHD, "-F", "-j", "none", "-n", str(site_dir / "varnish")),
                    *("-a", f"127.0.0.1:{cache_port}", "-f", str(site_dir / "site.vcl")),
                    *("-s", "malloc,64m", "-t", "600"),
                ],
                cache_out,
            )
            processes.append(cache)
            base = f"http://127.0.0.1:{cache_port}"
            wait_until_serving(base + "/", cache, varnish_log)
            yield Proxy(base, site, site_dir)
        finally:
            for process in reversed(processes):
                stop(process)


# -- the visitor mix -------------------------------------------------------------------------


def journey(rng, views):
    return rng.choices(PAGES, WEIGHTS, k=views)


def returning_visitors(site):
    visitors = []
    for segment, cookies in site["returning"].items():
        for number, cookie in enumerate(cookies):
            session = new_session(BROWSER_UA)
            visitor = Visitor(f"returning-{segment}-{number}", "returning", segment, session)
            visitor.session.cookies.set("wagtail_segments", cookie)
            visitors.append(visitor)
    return visitors


def warm_up(proxy, returning, rng):
    """The returning visitors' earlier visit; a new visitor and a bot walk every page twice."""
    first_of_each = {visitor.segment: visitor for visitor in reversed(returning)}
    for visitor in returning:
        walk = PAGES * 2 if visitor is first_of_each[visitor.segment] else journey(rng, 3)
        for path in walk:
            proxy.view(visitor, "warm-up", path, visitor.segment)
    newcomer = Visitor("new-warm-up", "new", None, new_session(BROWSER_UA))
    bot = Visitor("bot-warm-up", "bot", None, new_session(BOT_UA))
    for visitor in (newcomer, bot):
        for path in PAGES * 2:
            proxy.view(visitor, "warm-up", path, None)


def come_back(proxy, visitor, rng_seed):
    for path in journey(random.Random(rng_seed), 12):
        proxy.view(visitor, "mix", path, visitor.segment)


def land(proxy, visitor, rng_seed):
    rng = random.Random(rng_seed)
    landing, headers = rng.choice(["/", "/offers/"]), {}
    if visitor.segment == "spring":
        landing += "?utm_campaign=spring"
    elif visitor.segment == "partner":
        headers["Referer"] = PARTNER
    proxy.view(visitor, "mix", landing, visitor.segment, **headers)
    for path in journey(rng, 8):
        proxy.view(visitor, "mix", path, visitor.segment)


def crawl(proxy, visitor, rng_seed):
    for path in journey(random.Random(rng_seed), 5):
        visitor.session.cookies.clear()  # crawlers keep no cookies
        proxy.view(visitor, "mix", path, None)


def edit(proxy, visitor, rng_seed):
    """Log in, look at pages and the draft, view the site as a segment."""
    login = proxy.site["editor"]
    proxy.send(visitor, "mix", "/admin/login/")
    token = visitor.session.cookies["csrftoken"]
    answer = proxy.send(
        visitor, "mix", "/admin/login/", "POST", data={**login, "csrfmiddlewaretoken": token}
    )
    assert answer.status_code == 302, "the editor could not log in"
    draft = f"/admin/pages/{proxy.site['offers_id']}/view_draft/"
    proxy.view(visitor, "mix", "/offers/", None)
    proxy.view(visitor, "mix", "/about/", None)
    proxy.send(visitor, "mix", draft, expected=["page-draft", "offer-default"])
    token = visitor.session.cookies["csrftoken"]
    proxy.send(
        visitor,
        "mix",
        "/personalisation/view-as/",
        "POST",
        data={"segment": "mortgages"},
        headers={"X-CSRFToken": token},
    )
    proxy.view(visitor, "mix", "/offers/", "mortgages")
    proxy.view(visitor, "mix", "/about/", "mortgages")
    proxy.send(visitor, "mix", draft, expected=["page-draft", "offer-for-mortgages"])


def visitor_mix(site):
    """(visitor, what it does) for every visitor after warm-up."""
    mix = [(visitor, come_back) for visitor in returning_visitors(site)]
    for segment, count in NEW_VISITORS.items():
        for number in range(count):
            visitor = Visitor(f"new-{segment}-{number}", "new", segment, new_session(BROWSER_UA))
            mix.append((visitor, land))
    for number in range(STALE_VISITORS):
        visitor = Visitor(f"stale-{number}", "stale", None, new_session(BROWSER_UA))
        visitor.session.cookies.set("wagtail_segments", f"stale-{number}:signed-with-an-old-key")
        visitor.session.cookies.set(KEY_COOKIE, STALE_KEY)
        mix.append((visitor, land))
    for number in range(BOTS):
        mix.append((Visitor(f"bot-{number}", "bot", None, new_session(BOT_UA)), crawl))
    for number in range(EDITORS):
        mix.append((Visitor(f"editor-{number}", "editor", None, new_session(BROWSER_UA)), edit))
    return mix


def test_visitors_behind_varnish_get_their_own_pages_and_cookies(proxy, terminal_summary):
    rng = random.Random(15)
    mix = visitor_mix(proxy.site)
    returning = [visitor for visitor, _ in mix if visitor.kind == "returning"]
    warm_up(proxy, returning, rng)
    rng.shuffle(mix)
    with ThreadPoolExecutor(4) as pool:
        for done in [pool.submit(act, proxy, visitor, n) for n, (visitor, act) in enumerate(mix)]:
            done.result()

    seen = proxy.seen
    wrong = [s for s in seen if s.expected is not None and s.shown != s.expected]
    assert wrong == [], [(s.visitor.name, s.path, s.cache, s.shown) for s in wrong[:10]]

    # Cookies: each value reached one visitor only; the segment key, shared by design,
    # is the same for every visitor of one segment and differs between segments.
    holders = defaultdict(set)
    keys = defaultdict(set)
    for s in seen:
        for name, value in s.cookies.items():
            if name not in SHARED_BY_DESIGN:
                holders[name, value].add(s.visitor.name)
            elif name == KEY_COOKIE and s.visitor.kind != "editor":
                keys[s.visitor.segment].add(value)
    leaks = {cookie: names for cookie, names in holders.items() if len(names) > 1}
    assert leaks == {}, list(leaks.items())[:5]
    assert all(len(values) == 1 for values in keys.values()), keys
    assert len(set().union(*keys.values())) == len(keys) == len(OFFER_SEGMENTS) + 1
    assert [s for s in seen if s.cache == "HIT" and s.cookies] == []
    assert [s for s in seen if s.visitor.kind == "bot" and s.cookies] == []
    assert not any(s.visitor.kind == "returning" and "wagtail_segments" in s.cookies for s in seen)

    # Editors and previews: every response from Django, none stored.
    editors = [s for s in seen if s.visitor.kind == "editor"]
    assert editors and {s.cache for s in editors} == {"PASS"}
    assert sum("page-draft" in s.shown for s in editors) == 2 * EDITORS
    assert not any("page-draft" in s.shown for s in seen if s.visitor.kind != "editor")

    anonymous = [s for s in seen if s.phase == "mix" and s.visitor.kind != "editor"]
    hits = Counter(s.visitor.kind for s in anonymous if s.cache == "HIT")
    views = Counter(s.visitor.kind for s in anonymous)
    ratio = hits.total() / views.total()
    by_kind = ", ".join(f"{kind} {hits[kind] / views[kind]:.1%}" for kind in sorted(views))
    terminal_summary.extend(
        [
            f"Varnish test: {len(mix) + 2} visitors ({len(returning)} returning in 4 segments, "
            f"{sum(NEW_VISITORS.values())} new, {STALE_VISITORS} with stale cookies, "
            f"{BOTS} bots, {EDITORS} editors), "
            f"{len(seen)} requests",
            f"Varnish test: {hits.total()} of {views.total()} anonymous page views after "
            f"warm-up served from the cache: {ratio:.1%} ({by_kind})",
            f"Varnish test: leaks = 0 (wrong variants {len(wrong)}, cookies of one visitor "
            f"delivered to another {len(leaks)}, editor responses from the cache 0)",
        ]
    )
    assert ratio >= 0.9


def test_a_purge_reaches_every_copy_of_a_page(proxy):
    """Wagtail's frontend cache purges a page's URL: every segment's copy must go."""
    visitors = []
    for segment, landing in (("spring", "/?utm_campaign=spring"), (None, "/")):
        visitor = Visitor(f"purge-{segment}", "new", segment, new_session(BROWSER_UA))
        proxy.view(visitor, "purge", landing, segment)
        for _ in range(4):  # the key cookie is set, Django learns the page, Varnish keeps it
            proxy.view(visitor, "purge", "/offers/", segment)
            if proxy.seen[-1].cache == "HIT":
                break
        assert proxy.seen[-1].cache == "HIT", "the page never came from the cache"
        visitors.append(visitor)

    purged = requests.request("PURGE", proxy.base + "/offers/", timeout=10)
    assert purged.status_code == 200
    for visitor in visitors:
        proxy.view(visitor, "purge", "/offers/", visitor.segment)
        assert proxy.seen[-1].cache == "MISS"
        proxy.view(visitor, "purge", "/offers/", visitor.segment)
        assert proxy.seen[-1].cache == "HIT"
    assert not any(s.shown != s.expected for s in proxy.seen if s.phase == "purge")
