"""Where visitor profiles live between requests.

``cookie`` (the default) keeps the whole profile in one signed, compressed
cookie, so app servers share nothing; the cookie never passes 1 KB, whatever
the visitor sends (``VisitorProfile.trimmed_data`` says what is left out).
``cache`` and ``database`` keep it on the server under the visitor id, which
then travels in a signed cookie; a logged-in user's profile can live there
under their account, so it follows them across devices. Anything unreadable
gives a fresh profile, never an error.

A project plugs its own store with ``{"CLASS": "dotted.path", "OPTIONS": {...}}``:
a subclass of ``BaseProfileStore`` (any store) or of ``ServerSideStore`` (it
writes, reads and deletes data under a key; a user store must be one).
"""

import logging
import zlib
from functools import lru_cache

from django.conf import settings
from django.core import signing
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from .. import cookies
from ..conf import segments_cache, segments_settings
from .profile import VisitorProfile

logger = logging.getLogger(__name__)

SALT = "wagtail_segments.visitor.profile"
MAX_COOKIE_LENGTH = 4096  # what browsers keep; anything longer was not written by us
COMPRESSION_WINDOW_BITS = 12  # 4 KB: as long as a cookie can be
MAX_PROFILE_COOKIE = 1024  # bytes of the profile cookie as the browser sends it back (name=value)
CACHE_KEY = "wagtail_segments:profile:{key}"


class ProfileSigner(signing.TimestampSigner):
    """Django's signed format, compressed with a window the size of a cookie.

    ``zlib.compress`` clears a 32 KB window and its tables on every call: a
    third of what reading and writing the cookie cost a page view. A profile
    is never longer than ``MAX_COOKIE_LENGTH``, and a 4 KB window compresses
    it as well. Django's ``unsign_object`` reads the result (the "." flag is
    signed with it, as Django's is), and the cookies ``signing.dumps`` wrote.
    """

    def sign_object(self, obj, serializer=signing.JSONSerializer, compress=False):
        data, flag = serializer().dumps(obj), ""
        if compress:
            compressor = zlib.compressobj(wbits=COMPRESSION_WINDOW_BITS, memLevel=2)
            compressed = compressor.compress(data) + compressor.flush()
            if len(compressed) < len(data) - 1:  # as Django decides
                data, flag = compressed, "."
        return self.sign(flag + signing.b64_encode(data).decode())


@lru_cache(maxsize=4)
def _signer_for(key, fallback_keys):
    return ProfileSigner(key=key, fallback_keys=list(fallback_keys), salt=SALT)


def _signer():
    """The signer, made once per secret key (``signing.dumps`` and ``loads`` make one
    per call, which every page view pays twice)."""
    return _signer_for(settings.SECRET_KEY, tuple(settings.SECRET_KEY_FALLBACKS))


def _sign(data):
    return _signer().sign_object(data, compress=True)


def _unsign(value):
    """The signed data of a cookie value, or None when it is not ours or too old."""
    if not value or len(value) > MAX_COOKIE_LENGTH:
        return None
    try:
        return _signer().unsign_object(value, max_age=segments_settings.COOKIE_MAX_AGE)
    except (signing.BadSignature, ValueError, UnicodeError):
        return None


def _profile(data):
    try:
        return VisitorProfile.from_data(data)
    except ValueError:
        return None


def set_cookie(request, response, value):
    cookies.set_cookie(
        request, response, segments_settings.COOKIE_NAME, value, segments_settings.COOKIE_MAX_AGE
    )


def delete_cookie(response):
    cookies.delete_cookie(response, segments_settings.COOKIE_NAME)


class BaseProfileStore:
    """Where profiles live; one is made per request, with the setting's ``OPTIONS`` as arguments.

    ``load`` returns the visitor's ``VisitorProfile`` or None (none stored, or
    unreadable: never raise for a visitor's bad data). ``save`` and ``erase``
    may set or delete cookies on the response, through ``wagtail_segments.cookies``.
    """

    for_users = False  # whether profiles are kept under a logged-in user's account

    def __init__(self, for_users=False):
        self.for_users = for_users

    def load(self, request):
        raise NotImplementedError

    def save(self, request, response, profile):
        raise NotImplementedError

    def erase(self, request, response, profile):
        raise NotImplementedError


class CookieStore(BaseProfileStore):
    """The whole profile in the visitor's signed cookie."""

    def load(self, request):
        return _profile(_unsign(request.COOKIES.get(segments_settings.COOKIE_NAME)))

    def save(self, request, response, profile):
        set_cookie(request, response, self.signed(profile))

    def signed(self, profile):
        """The signed profile within MAX_PROFILE_COOKIE, least valuable data left out to fit."""
        room = MAX_PROFILE_COOKIE - len(f"{segments_settings.COOKIE_NAME}=")
        value = _sign(profile.to_data())
        if len(value) > room:
            for data in profile.trimmed_data():
                value = _sign(data)
                if len(value) <= room:
                    break
        return value

    def erase(self, request, response, profile):
        delete_cookie(response)


class ServerSideStore(BaseProfileStore):
    """Profiles kept on the server; the cookie carries the signed visitor id only.

    With ``for_users`` a logged-in user's profile is kept under their account.
    A subclass gives ``read``, ``write`` and ``delete`` of the data under a key.
    """

    def load(self, request):
        key = self.key(request)
        return _profile(self.read(key)) if key else None

    def save(self, request, response, profile):
        key = self.key(request)
        self.write(key or profile.visitor_id, profile.to_data())
        if key is None:
            # Set once: a response that sets no cookie can be shared by a cache.
            set_cookie(request, response, _sign(profile.visitor_id))

    def erase(self, request, response, profile):
        self.delete(self.key(request) or profile.visitor_id)
        delete_cookie(response)

    def key(self, request):
        if self.is_user_key(request):
            return f"user:{request.user.pk}"
        visitor_id = _unsign(request.COOKIES.get(segments_settings.COOKIE_NAME))
        return visitor_id if isinstance(visitor_id, str) else None

    def is_user_key(self, request):
        return self.for_users and is_authenticated(request)

    def read(self, key):
        raise NotImplementedError

    def write(self, key, data):
        raise NotImplementedError

    def delete(self, key):
        raise NotImplementedError


class CacheStore(ServerSideStore):
    """Profiles in Django's cache (Redis in production), kept as long as the cookie.

    A cache that cannot be reached fails soft: a profile that cannot be read
    is a fresh one, which is not written over the stored one (it may still
    be there), and a write or delete that fails is logged and lost alone.
    """

    def __init__(self, for_users=False):
        super().__init__(for_users)
        self.unread = set()  # keys whose profile could not be read

    @property
    def cache(self):
        return segments_cache()

    def read(self, key):
        cache = self.cache  # a cache alias that does not exist is an error, not a fault
        try:
            return cache.get(CACHE_KEY.format(key=key))
        except Exception as error:
            self.unread.add(key)
            logger.warning("wagtail_segments could not read a profile from its cache: %r", error)
            return None

    def write(self, key, data):
        if key in self.unread:
            return
        cache = self.cache
        try:
            cache.set(CACHE_KEY.format(key=key), data, segments_settings.COOKIE_MAX_AGE)
        except Exception as error:
            logger.warning("wagtail_segments lost a profile write to its cache: %r", error)

    def delete(self, key):
        cache = self.cache
        try:
            cache.delete(CACHE_KEY.format(key=key))
        except Exception as error:
            logger.warning(
                "wagtail_segments could not erase the profile of %s from its cache: %r", key, error
            )


class DatabaseStore(ServerSideStore):
    """Profiles in the database: one query to read, one to write when changed."""

    def read(self, key):
        from ..models import StoredProfile

        return StoredProfile.objects.filter(key=key).values_list("data", flat=True).first()

    def write(self, key, data):
        from ..models import StoredProfile

        StoredProfile.objects.update_or_create(key=key, defaults={"data": data})

    def delete(self, key):
        from ..models import StoredProfile

        StoredProfile.objects.filter(key=key).delete()


STORES = {"cookie": CookieStore, "cache": CacheStore, "database": DatabaseStore}


def is_authenticated(request):
    return bool(getattr(getattr(request, "user", None), "is_authenticated", False))


def visitor_store():
    store_class, options = store_setting("PROFILE_STORE")
    return store_class(**options)


def user_store(request):
    """The store of a logged-in user's own profile, when USER_PROFILE_STORE asks for one."""
    if segments_settings.USER_PROFILE_STORE and is_authenticated(request):
        store_class, options = store_setting("USER_PROFILE_STORE")
        return store_class(for_users=True, **options)
    return None


def store_setting(setting):
    """The store class and options a store setting names; ``ImproperlyConfigured`` if it cannot.

    The setting is a name of ``STORES`` or ``{"CLASS": name or dotted path, "OPTIONS": {...}}``.
    """
    value = getattr(segments_settings, setting)
    named, options = (
        (value.get("CLASS"), value.get("OPTIONS", {})) if isinstance(value, dict) else (value, {})
    )
    where = f"WAGTAIL_SEGMENTS[{setting!r}]"
    if not isinstance(options, dict):
        raise ImproperlyConfigured(
            f"{where}['OPTIONS'] must be a dict, not {type(options).__name__}."
        )
    store_class = STORES.get(named) if isinstance(named, str) else None
    if store_class is None:
        if not isinstance(named, str) or "." not in named:
            raise ImproperlyConfigured(
                f"{where} must be one of {', '.join(STORES)} or "
                f'{{"CLASS": "dotted.path.to.Store", "OPTIONS": {{...}}}}, not {value!r}.'
            )
        try:
            store_class = import_string(named)
        except ImportError as error:
            raise ImproperlyConfigured(
                f"{where} names {named!r}, which cannot be imported: {error}"
            ) from None
    wanted = ServerSideStore if setting == "USER_PROFILE_STORE" else BaseProfileStore
    if not (isinstance(store_class, type) and issubclass(store_class, wanted)):
        raise ImproperlyConfigured(
            f"{where} names {named!r}, which is not a subclass of {wanted.__name__}."
        )
    return store_class, options
