"""System checks: ``manage.py check`` explains a wrong installation."""

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured

from .conf import MIDDLEWARE_PATH, URLS_MODULE, problems, public_urls_included, segments_settings
from .visitor.stores import store_setting

# The middleware reads the session user and must see it already resolved.
REQUIRED_BEFORE = (
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
)


@register(Tags.compatibility)
def check_middleware(app_configs=None, **kwargs):
    middleware = list(settings.MIDDLEWARE)
    if MIDDLEWARE_PATH not in middleware:
        return [
            Error(
                f"'{MIDDLEWARE_PATH}' is missing from MIDDLEWARE.",
                hint="Add it after SessionMiddleware and AuthenticationMiddleware.",
                id="wagtail_segments.E001",
            )
        ]
    position = middleware.index(MIDDLEWARE_PATH)
    misplaced = [path for path in REQUIRED_BEFORE if path in middleware[position:]]
    missing = [path for path in REQUIRED_BEFORE if path not in middleware]
    errors = []
    if misplaced:
        errors.append(
            Error(
                f"'{MIDDLEWARE_PATH}' must come after {', '.join(misplaced)} in MIDDLEWARE.",
                hint="Move it below the session and authentication middleware.",
                id="wagtail_segments.E002",
            )
        )
    if missing:
        errors.append(
            Error(
                f"MIDDLEWARE lacks {', '.join(missing)}, which wagtail_segments needs.",
                hint="Wagtail sites need the session and authentication middleware.",
                id="wagtail_segments.E003",
            )
        )
    return errors


@register(Tags.compatibility)
def check_settings(app_configs=None, **kwargs):
    return [
        Error(message, id="wagtail_segments.E004")
        for message in problems(getattr(settings, "WAGTAIL_SEGMENTS", None) or {})
    ]


@register(Tags.compatibility)
def check_stores(app_configs=None, **kwargs):
    """A store that cannot be imported, or made with its ``OPTIONS``: here, not per request."""
    if problems(getattr(settings, "WAGTAIL_SEGMENTS", None) or {}):
        return []  # check_settings reports those
    errors = []
    for setting in ("PROFILE_STORE", "USER_PROFILE_STORE"):
        if setting == "USER_PROFILE_STORE" and not segments_settings.USER_PROFILE_STORE:
            continue
        try:
            store_class, options = store_setting(setting)
            store_class(**options)
        except ImproperlyConfigured as error:
            errors.append(Error(str(error), id="wagtail_segments.E006"))
        except TypeError as error:
            errors.append(
                Error(
                    f"WAGTAIL_SEGMENTS[{setting!r}]: {store_class.__name__} does not take "
                    f"these OPTIONS: {error}",
                    id="wagtail_segments.E006",
                )
            )
    return errors


@register(Tags.urls)
def check_urls(app_configs=None, **kwargs):
    if public_urls_included():
        return []
    return [
        Error(
            f"The URLconf does not include '{URLS_MODULE}': the event endpoint, the cockpit's "
            "forms and the “forget me” view have no address.",
            hint=f'Add path("personalisation/", include("{URLS_MODULE}")) to urlpatterns.',
            id="wagtail_segments.E005",
        )
    ]


@register(Tags.security)
def check_consent(app_configs=None, **kwargs):
    """Without a consent setting every visitor's profile is stored from the first page."""
    if settings.DEBUG or problems(getattr(settings, "WAGTAIL_SEGMENTS", None) or {}):
        return []  # E004 explains a WAGTAIL_SEGMENTS that cannot be read
    if segments_settings.CONSENT_COOKIE or segments_settings.CONSENT_CHECK:
        return []
    return [
        Warning(
            "wagtail_segments stores a profile of every visitor from their first page "
            "without asking for consent: only Do Not Track and Global Privacy Control stop it.",
            hint="Set WAGTAIL_SEGMENTS['CONSENT_COOKIE'] to the cookie your consent banner "
            "sets, or WAGTAIL_SEGMENTS['CONSENT_CHECK'] to a function (request) -> bool. "
            "See docs/how-to/privacy.md.",
            id="wagtail_segments.W001",
        )
    ]
