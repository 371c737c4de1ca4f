"""What a User-Agent header says about the device, read with ``ua-parser``.

Parsing is memoised per distinct header, so a busy site pays for each
browser build once per process, not once per request.
"""

from dataclasses import dataclass
from functools import lru_cache

import ua_parser

# Fetchers that render link previews or check pages: they announce no "bot",
# but no visitor sits behind them.
AUTOMATED_FAMILIES = {
    "Spider",
    "HeadlessChrome",
    "facebookexternalhit",
    "Twitterbot",
    "LinkedInBot",
    "WhatsApp",
    "TelegramBot",
    "Discordbot",
    "Slackbot",
    "Slackbot-LinkExpanding",
    "Python Requests",
    "curl",
    "Wget",
}
TABLETS = {"iPad", "Kindle", "Nexus 7", "Nexus 9", "Nexus 10", "Galaxy Tab"}
MOBILE_OS = {"iOS", "Android", "Windows Phone", "BlackBerry OS", "KaiOS", "Firefox OS"}
MAX_LENGTH = 512  # longer headers are cut before parsing: no real browser sends more


@dataclass(frozen=True, slots=True)
class UserAgentInfo:
    browser: str  # family, e.g. "Chrome", "Mobile Safari"
    os: str  # family, e.g. "Android", "Mac OS X"
    device_type: str  # "mobile", "tablet", "desktop" or "bot"

    @property
    def is_bot(self):
        return self.device_type == "bot"


@lru_cache(maxsize=1024)
def parse_user_agent(header):
    """Browser, operating system and device type of a User-Agent header."""
    header = (header or "")[:MAX_LENGTH]
    if not header.strip():
        return UserAgentInfo("Other", "Other", "bot")
    result = ua_parser.parse(header)
    browser = result.user_agent.family if result.user_agent else "Other"
    os_family = result.os.family if result.os else "Other"
    device = result.device
    return UserAgentInfo(browser, os_family, _device_type(header, browser, os_family, device))


def _device_type(header, browser, os_family, device):
    # A header naming no browser ua-parser knows is a script far more often than a person.
    if (device and device.family == "Spider") or browser in AUTOMATED_FAMILIES | {"Other"}:
        return "bot"
    family = device.family if device else ""
    if (
        family in TABLETS
        or "Tablet" in family
        or (os_family == "Android" and "Mobile" not in header)
    ):
        return "tablet"
    if os_family in MOBILE_OS or "Mobile" in header:
        return "mobile"
    return "desktop"


def is_bot(header):
    return parse_user_agent(header).is_bot


def request_user_agent(request):
    return parse_user_agent(request.headers.get("User-Agent", ""))
