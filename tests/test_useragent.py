"""User agents parsed with ua-parser: device types, and bots that get default content."""

import pytest

from tests.factories import BOT_UA, BROWSER_UA
from wagtail_segments.useragent import MAX_LENGTH, is_bot, parse_user_agent


@pytest.mark.parametrize(
    "header, browser, os, device_type",
    [
        (BROWSER_UA, "Chrome", "Linux", "desktop"),
        (
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 "
            "(KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36",
            "Chrome",
            "Android",
            "mobile",
        ),
        (
            "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 "
            "(KHTML, like Gecko) Chrome/126.0 Safari/537.36",
            "Chrome",
            "Android",
            "tablet",
        ),
    ],
)
def test_browsers_and_devices(header, browser, os, device_type):
    parsed = parse_user_agent(header)
    assert (parsed.browser, parsed.os, parsed.device_type) == (browser, os, device_type)
    assert not parsed.is_bot


@pytest.mark.parametrize(
    "header",
    [
        BOT_UA,
        "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
        "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
        "WhatsApp/2.23.20.0",
        "curl/8.5.0",
        "python-requests/2.32.3",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "HeadlessChrome/126.0 Safari/537.36",
        "",
        "   ",
    ],
)
def test_crawlers_link_previews_and_scripts_are_bots(header):
    assert is_bot(header)


def test_parsing_is_memoised_and_bounded():
    parse_user_agent.cache_clear()
    for _ in range(3):
        parse_user_agent(BROWSER_UA)
    assert parse_user_agent.cache_info().hits == 2
    # Only the first MAX_LENGTH characters are parsed, however long the header.
    assert parse_user_agent(BROWSER_UA + "x" * 100_000).browser == "Chrome"
    assert is_bot("x" * MAX_LENGTH + BROWSER_UA)
