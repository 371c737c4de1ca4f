// Harbour Bank's consent banner. The visitor's choice goes in the cookie that
// WAGTAIL_SEGMENTS["CONSENT_COOKIE"] names: "1" (Accept) or "0" (Decline). Until it
// says "1", wagtail_segments stores nothing about the visitor; pages still adapt to
// the link followed. "Cookie settings" in the footer opens the banner again.
(function () {
    "use strict";

    var banner = document.querySelector("[data-consent]");
    if (!banner) {
        return;
    }
    var name = banner.getAttribute("data-consent");
    var opener = document.querySelector("[data-consent-open]");
    var status = banner.querySelector("[data-consent-status]");
    var YEAR = 365 * 24 * 60 * 60;
    var reopened = false; // by "Cookie settings": focus goes back there after the choice

    function choice() {
        var prefix = name + "=";
        var found = document.cookie.split("; ").filter(function (cookie) {
            return cookie.indexOf(prefix) === 0;
        })[0];
        return found ? found.slice(prefix.length) : null;
    }

    function show() {
        var current = choice();
        status.hidden = current === null;
        status.textContent = current === "1" ? "You accepted." : "You declined.";
        banner.hidden = false;
        if (opener) {
            opener.setAttribute("aria-expanded", "true");
        }
        if (reopened) {
            banner.querySelector("h2").focus();
        }
    }

    function hide() {
        banner.hidden = true;
        if (opener) {
            opener.setAttribute("aria-expanded", "false");
        }
    }

    function erase() {
        // Withdrawn consent: forget what was stored, with the footer's "Forget me" form.
        var form = document.querySelector("[data-forget-me]");
        var data = new FormData(form);
        data.delete("next");
        return fetch(form.action, { method: "POST", body: data, credentials: "same-origin" });
    }

    function choose(value) {
        var before = choice();
        var secure = location.protocol === "https:" ? "; Secure" : "";
        document.cookie = name + "=" + value + "; Max-Age=" + YEAR + "; Path=/; SameSite=Lax" + secure;
        hide();
        if (value === "1" && before !== "1") {
            reload(); // this page view counts, and the page adapts to it
        } else if (value === "0" && before === "1") {
            erase().then(reload, reload);
        } else if (reopened) {
            opener.focus();
        }
        reopened = false;
    }

    function reload() {
        location.reload();
    }

    banner.querySelectorAll("[data-consent-choice]").forEach(function (button) {
        button.addEventListener("click", function () {
            choose(button.getAttribute("data-consent-choice"));
        });
    });
    if (opener) {
        opener.hidden = false;
        opener.addEventListener("click", function () {
            reopened = true;
            show();
        });
    }
    if (choice() === null) {
        show();
    }
})();
