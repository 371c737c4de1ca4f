vcl 4.1;

# Varnish (7.x) in front of a Wagtail site whose settings say
#
#     WAGTAIL_SEGMENTS = {"CACHE_MODE": "segments", "PROFILE_STORE": "cache"}  # or "database"
#
# A page is kept once per URL, host and value of the cookie wagtail_segments_key
# (COOKIE_NAME + "_key"): one copy per combination of segments, whatever the number
# of visitors. Other cookies stay out of the cache key but reach Django on a miss,
# which needs the visitor's id to record the view and judge them.
#
# Adjust to your site: the backend below, the admin prefixes in vcl_recv, and the
# cookie names if you changed COOKIE_NAME or SESSION_COOKIE_NAME. How long a page is
# kept comes from its Cache-Control (s-maxage, max-age) or varnishd's default_ttl
# (-t, 120 s). Wagtail's frontend cache (HTTPBackend) purges every copy of a page.
# tests/test_varnish.py runs this file in front of gunicorn.

backend default {
    .host = "127.0.0.1";
    .port = "8000";
}

# Who may purge (Wagtail's frontend cache runs on the app servers).
acl purgers {
    "localhost";
    "127.0.0.1";
    "::1";
}

sub vcl_recv {
    # Only Django sets this header, from its own judgement of the visitor.
    unset req.http.X-Wagtail-Segments;

    if (req.method == "PURGE") {
        if (client.ip !~ purgers) {
            return (synth(405, "Not allowed"));
        }
        # Every copy of the page: each segment key, each query string.
        ban("obj.http.X-Segments-Host == " + req.http.host +
            " && obj.http.X-Segments-Path == " + regsub(req.url, "\?.*$", ""));
        return (synth(200, "Purged"));
    }
    if (req.method != "GET" && req.method != "HEAD") {
        return (pass);
    }
    # The admin (previews and drafts included), Django's admin, and the package's
    # own endpoints (events, fragments, "view as", erase): never from the cache.
    if (req.url ~ "^/(admin|django-admin|personalisation)/") {
        return (pass);
    }
    # Logged-in users and editors: drafts, the userbar, "view as".
    if (req.http.Authorization || req.http.Cookie ~ "(^|;\s*)sessionid=") {
        return (pass);
    }
    if (req.url ~ "^/(static|media)/") {
        unset req.http.Cookie;
        return (hash);
    }
    # Bots get the default content: the copy kept for visitors in no segment, whose
    # key is "none". Django gives a bot that key too, so its page can be kept.
    if (req.http.User-Agent ~ "(?i)(bot|crawler|spider)/|\+https?://") {
        set req.http.Cookie = "wagtail_segments_key=none";
        return (hash);
    }
    # A visitor Django has not seen yet goes to Django: it gives them their id and
    # records where the visit came from (referrer, campaign), which a copy cannot.
    if (req.http.Cookie !~ "(^|;\s*)wagtail_segments(_key)?=") {
        return (pass);
    }
    # Not Varnish's builtin, which passes every request that carries a cookie.
    return (hash);
}

sub vcl_hash {
    hash_data(req.url);
    if (req.http.host) {
        hash_data(req.http.host);
    } else {
        hash_data(server.ip);
    }
    if (req.http.Cookie ~ "(^|;\s*)wagtail_segments_key=") {
        hash_data(regsub(req.http.Cookie, "^(.*;\s*)?wagtail_segments_key=([^;]*).*$", "\2"));
    }
    return (lookup);
}

sub vcl_backend_response {
    # What the purge above matches on (removed before delivery).
    set beresp.http.X-Segments-Host = bereq.http.host;
    set beresp.http.X-Segments-Path = regsub(bereq.url, "\?.*$", "");
    # Never keep a response that sets a cookie or is meant for one visitor.
    if (beresp.http.Set-Cookie || beresp.http.Cache-Control ~ "(?i)private|no-store|no-cache") {
        set beresp.uncacheable = true;
        set beresp.ttl = 120s;
        return (deliver);
    }
    # Varnish's builtin follows: no TTL, or Vary: *, is not kept either.
}

sub vcl_deliver {
    unset resp.http.X-Segments-Host;
    unset resp.http.X-Segments-Path;
    if (obj.uncacheable) {
        set resp.http.X-Cache = "PASS";
    } elsif (obj.hits > 0) {
        set resp.http.X-Cache = "HIT";
    } else {
        set resp.http.X-Cache = "MISS";
    }
}
