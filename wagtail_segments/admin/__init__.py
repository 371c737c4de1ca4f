"""The package's Wagtail admin: snippets, reports, the tester, People, import and export,
publish warnings and the live site's cockpit. Nothing below it imports it."""
