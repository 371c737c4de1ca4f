"""End to end in Debian's Chromium: the sandbox as visitors and editors see it."""

import pytest

from tests.browsing import expect_heading, log_in, log_in_through_the_form, open_cockpit
from wagtail_segments.conf import segments_settings
from wagtail_segments.models import Segment
from wagtail_segments.visitor.profile import VisitorProfile
from wagtail_segments.visitor.stores import _unsign

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("sandbox_settings"),  # the sandbox asks for consent
]


def cookie(page, name):
    return next((c for c in page.context.cookies() if c["name"] == name), None)


def accept_cookies(page):
    """Click Accept in the consent banner, as a visitor would; the page reloads."""
    with page.expect_navigation():
        consent_banner(page).get_by_role("button", name="Accept").click()
    assert not consent_banner(page).is_visible()


def consent_banner(page):
    return page.get_by_role("region", name="Cookies on Harbour Bank")


def test_home_page_in_chromium(live_server, demo_site, browser_page, screenshot):
    response = browser_page.goto(live_server.url + "/")
    assert response.status == 200
    assert "Harbour Bank" in browser_page.title()
    assert browser_page.locator("h1").first.is_visible()
    banner = consent_banner(browser_page)
    assert banner.is_visible()
    assert banner.get_by_role("button", name="Accept").is_visible()
    assert banner.get_by_role("button", name="Decline").is_visible()
    path = screenshot()
    assert path.stat().st_size > 10_000
    assert cookie(browser_page, segments_settings.COOKIE_NAME) is None


def test_the_consent_banner_keeps_the_choice_and_can_change_it(
    live_server, demo_site, browser_page
):
    page = browser_page
    page.goto(f"{live_server.url}/?utm_campaign=campus")
    assert page.locator("h1").first.inner_text() == "Welcome, campus newcomer"  # no storage
    assert cookie(page, segments_settings.COOKIE_NAME) is None
    accept_cookies(page)  # the reload records this landing, with its campaign
    assert cookie(page, "cookie_consent")["value"] == "1"
    profile = VisitorProfile.from_data(
        _unsign(cookie(page, segments_settings.COOKIE_NAME)["value"])
    )
    assert profile.utm == {"campaign": "campus"}
    page.goto(f"{live_server.url}/savings/")
    assert not consent_banner(page).is_visible()  # asked once

    # "Cookie settings" in the footer opens the banner again, from the keyboard too.
    settings = page.get_by_role("button", name="Cookie settings")
    settings.focus()
    page.keyboard.press("Enter")
    banner = consent_banner(page)
    assert banner.is_visible() and settings.get_attribute("aria-expanded") == "true"
    assert "You accepted." in banner.inner_text()
    assert page.evaluate("document.activeElement.id") == "consent-title"
    with page.expect_navigation():  # declining erases what was stored, then reloads
        banner.get_by_role("button", name="Decline").click()
    assert cookie(page, "cookie_consent")["value"] == "0"
    assert cookie(page, segments_settings.COOKIE_NAME) is None
    page.goto(f"{live_server.url}/")
    assert page.locator("h1").first.inner_text() == "Banking that keeps you afloat"
    assert not consent_banner(page).is_visible()
    assert cookie(page, segments_settings.COOKIE_NAME) is None  # nothing stored after "no"


def test_editor_creates_a_segment_with_several_rules(
    live_server, demo_site, editor, browser_page, screenshot
):
    page = browser_page
    log_in(page, live_server)
    page.goto(f"{live_server.url}/admin/personalisation/segments/add/")
    page.fill("#id_name", "Campus students")
    page.fill("#id_slug", "campus-students")

    def add_rule(label):
        page.locator("button[title='Insert a block']").last.click()
        page.get_by_role("option", name=label, exact=True).click()

    add_rule("UTM parameter")
    page.locator("select[name$='-value-parameter']").last.select_option("campaign")
    page.locator("input[name$='-value-value']").last.fill("campus")
    add_rule("Page views")
    page.locator("select[name$='-value-operator']").last.select_option("lt")
    page.locator("input[name$='-value-count']").last.fill("3")
    screenshot("editor")
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url(f"{live_server.url}/admin/personalisation/segments/")
    screenshot("listing")
    segment = Segment.objects.get(slug="campus-students")
    assert [rule.block_type for rule in segment.rules] == ["utm", "pageviews"]
    assert segment.rules.raw_data[0]["value"]["value"] == "campus"
    assert page.get_by_role("link", name="Campus students").is_visible()


def test_the_event_helper_records_a_click(live_server, demo_site, browser_page):
    page = browser_page
    page.goto(f"{live_server.url}/savings/")

    def send_brochure():
        with page.expect_response("**/personalisation/event/") as answer:
            page.get_by_role("button", name="Send me the brochure").click()
        assert answer.value.status == 200
        return answer.value.json()

    # Before consent the click is answered but not recorded.
    assert send_brochure() == {"recorded": False, "event": "brochure-savings", "count": 1}
    assert cookie(page, segments_settings.COOKIE_NAME) is None
    accept_cookies(page)
    assert send_brochure() == {"recorded": True, "event": "brochure-savings", "count": 1}
    stored = cookie(page, segments_settings.COOKIE_NAME)
    profile = VisitorProfile.from_data(_unsign(stored["value"]))
    assert profile.events == {"brochure-savings": 1}
    assert stored["httpOnly"] and stored["sameSite"] == "Lax"


def test_editor_edits_a_variant_and_previews_the_page_as_two_segments(
    live_server, demo_site, editor, browser_page, screenshot
):
    from pages.models import HomePage

    page = browser_page
    log_in(page, live_server)
    home = HomePage.objects.get()
    page.goto(f"{live_server.url}/admin/pages/{home.pk}/edit/")

    # Variants are collapsed, each summarised by its segments.
    def variant_heading(summary):
        return page.locator("[data-panel-heading-text]", has_text=summary)

    variant_heading("For College students").scroll_into_view_if_needed()
    assert variant_heading("For Investors").is_visible()
    variant_heading("For College students").click()
    heading = page.get_by_label("Heading").nth(1)  # the default's heading comes first
    heading.fill("Freshers: a railcard on us")
    page.get_by_role("button", name="Save draft").click()
    page.wait_for_selector(".messages .success")

    # Preview as each segment: the preview panel offers one mode per segment used.
    page.get_by_role("button", name="Toggle preview").click()
    modes = page.locator("#id_preview_mode")
    options = modes.locator("option").all_inner_texts()
    assert options[0] == "Default visitor"
    assert "As “College students”" in options and "As “Investors”" in options
    iframe = page.frame_locator("#w-preview-iframe")

    expect_heading(iframe, "Banking that keeps you afloat")  # the default visitor's
    modes.select_option(label="As “College students”")
    expect_heading(iframe, "Freshers: a railcard on us")
    screenshot("as-students")
    modes.select_option(label="As “Investors”")
    expect_heading(iframe, "Your money, working harder")
    screenshot("as-investors")
    # The draft is not live: visitors still get the published page.
    assert "Freshers" not in browser_page.context.request.get(f"{live_server.url}/").text()


def test_editor_uses_the_cockpit_after_the_campus_link(
    live_server, demo_site, editor, browser_page, screenshot
):
    page = browser_page
    log_in(page, live_server)
    # A returning visitor's choice: the banner set its cookie on an earlier visit.
    page.context.add_cookies([{"name": "cookie_consent", "value": "1", "url": live_server.url}])
    page.goto(f"{live_server.url}/campus/?utm_campaign=campus&utm_source=flyer")
    page.goto(f"{live_server.url}/")
    cockpit = open_cockpit(page)
    # The student segment is matched, with the rule and the visitor's value.
    students = cockpit.locator(".segments-list > li", has_text="College students")
    assert "✓ member" in students.inner_text()
    assert "utm_campaign is “campus” — this visitor: campus" in students.inner_text()
    scores = cockpit.locator(".segments-scores")
    assert "Students" in scores.inner_text() and "10.0" in scores.inner_text()
    assert "campaign “campus”" in cockpit.locator(".segments-ledger").inner_text()
    blocks = cockpit.locator(".segments-blocks")
    assert "variant 1 — member of College students" in blocks.inner_text()
    # Keyboard: Escape closes the panel and gives focus back.
    cockpit.locator("h2").focus()
    page.keyboard.press("Escape")
    assert not cockpit.is_visible()
    cockpit = open_cockpit(page)
    cockpit.locator("[data-segments-highlight]").first.click()
    screenshot("cockpit")

    # View as investors: the page changes, and the flag says so until stopped.
    cockpit.get_by_label("Investors").check()
    cockpit.get_by_role("button", name="View as these segments").click()
    page.wait_for_load_state()
    assert page.locator("h1").first.inner_text() == "Your money, working harder"
    flag = page.locator("[data-segments-flag]")
    assert "Viewing as: Investors" in flag.inner_text()
    screenshot("viewing-as")
    flag.get_by_role("button", name="Stop").click()
    page.wait_for_load_state()
    assert page.locator("h1").first.inner_text() == "Welcome, campus newcomer"
    assert not page.locator("[data-segments-flag]").count()


def test_a_visitor_gets_no_cockpit_and_cannot_force_a_segment(
    live_server, demo_site, editor, browser_page, chromium
):
    from tests.factories import BROWSER_UA
    from wagtail_segments.visitor.editors import VIEW_AS_COOKIE

    log_in_through_the_form(browser_page, live_server)  # which sets the CSRF cookie
    browser_page.request.post(
        f"{live_server.url}/personalisation/view-as/",
        form={"segment": "investors"},
        headers={"X-CSRFToken": csrf_of(browser_page)},
    )
    stolen = [c for c in browser_page.context.cookies() if c["name"] == VIEW_AS_COOKIE][0]

    context = chromium.new_context(user_agent=BROWSER_UA)
    context.add_cookies([{**stolen, "name": VIEW_AS_COOKIE}])
    visitor = context.new_page()
    visitor.goto(f"{live_server.url}/?view_as=investors&segment=investors")
    assert visitor.locator("h1").first.inner_text() == "Banking that keeps you afloat"
    assert visitor.locator("wagtail-userbar").count() == 0
    assert "data-segments-cockpit" not in visitor.content()
    context.close()


def csrf_of(page):
    return next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")


@pytest.mark.parametrize("path", ["/", "/savings/", "/cart/"])
def test_wagtails_content_checker_finds_no_problem_with_the_cockpit(
    live_server, demo_site, editor, browser_page, path
):
    page = browser_page
    log_in(page, live_server)
    page.goto(f"{live_server.url}{path}")
    page.locator("[data-segments-cockpit-open]").wait_for(state="attached")
    count = page.locator("#checker-trigger [data-content-checker-count]")
    page.wait_for_function(
        "() => document.querySelector('wagtail-userbar').shadowRoot"
        ".querySelector('#checker-trigger [data-content-checker-count]').textContent !== ''",
        timeout=15_000,
    )
    assert count.text_content() == "0"


def test_editor_reads_the_reports_of_simulated_traffic(
    live_server, editor, counted, browser_page, screenshot
):
    import csv
    import io
    from datetime import timedelta

    from django.core.management import call_command
    from django.db.models import Sum
    from django.utils import timezone
    from wagtail.models import Page

    from wagtail_segments.models import GoalDay, SegmentDay, SiteDay, VariantDay
    from wagtail_segments.stats.recording import recorder

    # The demo content with nothing counted, then simulated visitors: fewer than
    # `make run`'s 150, enough for every kind of row the reports show.
    call_command("simulate_traffic", "--visitors", "60", stdout=io.StringIO())
    recorder.flush()
    assert not recorder.pending
    since = timezone.localdate() - timedelta(days=29)  # the reports' default: 30 days
    site = SiteDay.objects.filter(day__gte=since).aggregate(
        visitors=Sum("visitors"), pageviews=Sum("pageviews")
    )
    assert site["visitors"] and site["pageviews"], "the simulated traffic counted nothing"
    segments = {
        slug: (members, views)
        for slug, members, views in SegmentDay.objects.filter(day__gte=since)
        .values_list("segment")
        .annotate(members=Sum("members"), views=Sum("pageviews"))
    }
    goals = dict(
        GoalDay.objects.filter(day__gte=since).values_list("segment").annotate(n=Sum("conversions"))
    )
    assert segments["college-students"][0] and segments["investors"][0]

    page = browser_page
    log_in(page, live_server)
    requests = []
    page.on("request", lambda request: requests.append(request.url))

    # -- the segments report ----------------------------------------------------------------
    page.goto(f"{live_server.url}/admin/personalisation/reports/segments/")
    assert page.locator("h1").first.inner_text().strip() == "Segments"
    table = read_table(page)
    on_screen = {row["Segment"]: row for row in table}
    assert set(on_screen) == {
        "Whole site",
        "College students",
        "Investors",
        "Checking-account prospects",
        "Cart under £100",
    }
    whole = on_screen["Whole site"]
    assert number(whole["Members seen"]) == site["visitors"]
    assert number(whole["Page views"]) == site["pageviews"]
    assert number(whole["Goals reached"]) == goals.get("", 0) > 0
    for name, slug in [
        ("College students", "college-students"),
        ("Investors", "investors"),
        ("Checking-account prospects", "checking-prospects"),
        ("Cart under £100", "small-cart"),
    ]:
        members, views = segments.get(slug, (0, 0))
        row = on_screen[name]
        assert number(row["Members seen"]) == members
        assert number(row["% of visitors"]) == round(100 * members / site["visitors"], 1)
        assert number(row["Page views"]) == views
        assert number(row["Goals reached"]) == goals.get(slug, 0)

    # The trend: a bar per day, with its scale and dates, inside its cell; or, for a
    # segment with no members seen, words that say so.
    first, last = (f"{day.day} {day:%b}" for day in (since, timezone.localdate()))
    cells = page.locator("table.listing tbody tr td:last-child")
    drawn = 0
    for row, cell in zip(table, cells.all(), strict=True):
        if number(row["Members seen"]) == 0:
            assert cell.inner_text().strip() == "No members seen in this period"
            continue
        chart = cell.locator("svg.segments-trend-bars")
        box, room = chart.bounding_box(), cell.bounding_box()
        assert box["width"] > 80 and box["height"] > 20
        assert room["x"] <= box["x"] and box["x"] + box["width"] <= room["x"] + room["width"]
        assert chart.get_attribute("aria-label").endswith(f"{row['Members seen']} in all")
        assert cell.locator(".segments-trend-dates").inner_text().split() == [
            *first.split(),
            *last.split(),
        ]
        heights = [int(float(bar.get_attribute("height"))) for bar in chart.locator("rect").all()]
        scale = cell.locator(".segments-trend-scale").inner_text().split()
        assert scale == [str(max(int(title.split(": ")[1]) for title in bar_titles(chart))), "0"]
        drawn += 1
        if row["Segment"] == "Whole site":
            assert len(set(heights)) > 2, "the whole site's trend is flat: no daily data drawn"
    assert drawn >= 3  # the whole site, students, investors
    screenshot("segments-report")

    # The CSV behind the page's link holds the numbers on screen.
    with page.expect_download() as download:
        page.get_by_role("link", name="CSV", exact=True).click()
    text = download.value.path().read_text(encoding="utf-8-sig")
    in_file = {row["Segment"]: row for row in csv.DictReader(io.StringIO(text))}
    columns = [
        "Members seen",
        "% of visitors",
        "Page views",
        "% of page views",
        "Goals reached",
        "Per 100 members",
    ]
    assert {name: [number(row[c]) for c in columns] for name, row in in_file.items()} == {
        name: [number(row[c]) for c in columns] for name, row in on_screen.items()
    }

    # -- the variants report ----------------------------------------------------------------
    page.goto(f"{live_server.url}/admin/personalisation/reports/variants/")
    assert page.locator("h1").first.inner_text().strip() == "Personalised variants"
    titles = dict(Page.objects.values_list("pk", "title"))
    names = dict(Segment.objects.values_list("slug", "name"))

    def label(total):
        segments = ", ".join(names[slug] for slug in total["segments"].split(",") if slug)
        if total["held_out"]:
            return f"default (holdout of {segments})"
        return f"variant {total['variant']} for {segments}" if total["variant"] else "default"

    expected = sorted(
        (
            titles[total["page_id"]],
            total["block"].replace("_", " ").capitalize(),
            label(total),
            total["impressions"],
            total["conversions"],
        )
        for total in VariantDay.objects.filter(day__gte=since)
        .values("page_id", "block", "variant", "held_out", "segments")
        .annotate(impressions=Sum("impressions"), conversions=Sum("conversions"))
    )
    assert len(expected) > 3
    assert any(row[2] == "default (holdout of Investors)" for row in expected)
    shown = sorted(
        (
            row["Page"],
            row["Block"],
            row["Shown"],
            number(row["Impressions"]),
            number(row["Conversions"]),
        )
        for row in read_table(page)
    )
    assert shown == expected
    screenshot("variants-report")

    # Charts and all: the report pages fetch nothing from any other host.
    elsewhere = [url for url in requests if not url.startswith(live_server.url + "/")]
    assert len(requests) > 2 and not elsewhere, elsewhere


def bar_titles(chart):
    """The "date: value" titles of a trend chart's bars."""
    return [title.text_content() for title in chart.locator("rect title").all()]


def read_table(page):
    """The listing table's rows as dicts of column heading to cell text."""
    table = page.locator("table.listing").first
    headings = [text.strip() for text in table.locator("thead th").all_inner_texts()]
    return [
        dict(zip(headings, (c.strip() for c in row.locator("td").all_inner_texts()), strict=True))
        for row in table.locator("tbody tr").all()
    ]


def number(text):
    """A number as shown on screen or in a CSV cell ("1,024", "12.5")."""
    value = float(str(text).replace(",", ""))
    return int(value) if value.is_integer() else value
