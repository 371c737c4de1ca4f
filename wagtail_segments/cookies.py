"""The package's cookies: written with the same flags, on responses no shared cache may keep.

A cookie set on a response that a page cache or a CDN stores would be replayed
to every visitor who gets that copy, so each response that sets or deletes one
is marked ``Cache-Control: private`` and varies on ``Cookie``.
"""

from django.utils.cache import patch_cache_control, patch_vary_headers


def mark_private(response):
    patch_vary_headers(response, ("Cookie",))
    patch_cache_control(response, private=True)


def set_cookie(request, response, name, value, max_age):
    """Set one of the package's cookies on a response no shared cache may keep."""
    response.set_cookie(
        name, value, max_age=max_age, secure=request.is_secure(), httponly=True, samesite="Lax"
    )
    mark_private(response)


def delete_cookie(response, name):
    """Delete one of the package's cookies, on a response no shared cache may keep."""
    response.delete_cookie(name, samesite="Lax")
    mark_private(response)
