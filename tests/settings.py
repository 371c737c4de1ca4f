"""Test settings: the sandbox site plus a small test app, with fast hashing."""

from bank.settings import *  # noqa: F403

INSTALLED_APPS = [
    "tests.testapp",
    "wagtail.contrib.table_block",
    "wagtail.contrib.typed_table_block",
    *INSTALLED_APPS,  # noqa: F405
]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WAGTAILADMIN_BASE_URL = "http://testserver"
# The package's defaults; tests of the sandbox itself ask for its consent cookie
# (the ``sandbox_settings`` fixture).
WAGTAIL_SEGMENTS = {}
