"""Settings of the sandbox: a small retail bank's Wagtail site, personalised.

SQLite by default; ``DATABASE_URL`` switches the database (PostgreSQL in CI and
production) and ``REDIS_URL`` puts Django's cache in Redis. Demo only: the
secret key below must never serve a real site.
"""

import os
from pathlib import Path

import dj_database_url

SANDBOX_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("SECRET_KEY", "sandbox-only-not-a-secret")
DEBUG = os.environ.get("DEBUG", "1") == "1"
ALLOWED_HOSTS = ["*"]

INSTALLED_APPS = [
    "pages",
    "wagtail_segments",
    "wagtail.contrib.forms",
    "wagtail.contrib.redirects",
    "wagtail.contrib.settings",
    "wagtail.embeds",
    "wagtail.sites",
    "wagtail.users",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.admin",
    "wagtail",
    "modelcluster",
    "taggit",
    "django_filters",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "wagtail.contrib.redirects.middleware.RedirectMiddleware",
    "wagtail_segments.middleware.SegmentsMiddleware",
]

SESSION_ENGINE = "pages.sessions"  # database sessions that refuse keys Django never makes

ROOT_URLCONF = "bank.urls"
WSGI_APPLICATION = "bank.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [SANDBOX_DIR / "bank" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "pages.context_processors.site_menu",
                "pages.context_processors.consent",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{SANDBOX_DIR / 'db.sqlite3'}", conn_max_age=60
    )
}

if os.environ.get("REDIS_URL"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["REDIS_URL"],
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

STATICFILES_DIRS = [SANDBOX_DIR / "bank" / "static"]
STATIC_ROOT = SANDBOX_DIR / "static"
STATIC_URL = "/static/"
MEDIA_ROOT = SANDBOX_DIR / "media"
MEDIA_URL = "/media/"

WAGTAIL_SEGMENTS = {
    # The demo asks for consent, as EU sites must: its banner (bank/static/js/consent.js)
    # sets this cookie to "1" (Accept) or "0" (Decline); no profile is stored before a "1".
    "CONSENT_COOKIE": "cookie_consent",
    # A logged-in customer's profile lives in the database under their account, so it
    # follows them across devices and the admin's People screens list them (visitors
    # keep the cookie).
    "USER_PROFILE_STORE": "database",
}

WAGTAIL_SITE_NAME = "Harbour Bank"
WAGTAILADMIN_BASE_URL = os.environ.get("WAGTAILADMIN_BASE_URL", "http://127.0.0.1:8000")
WAGTAILSEARCH_BACKENDS = {"default": {"BACKEND": "wagtail.search.backends.database"}}
DATA_UPLOAD_MAX_NUMBER_FIELDS = 10_000
WAGTAIL_GRAVATAR_PROVIDER_URL = None  # the demo runs offline
