/* wagtail_segments: the cockpit in Wagtail's userbar.
 *
 * The userbar renders inside a shadow DOM and hides its menu when it closes,
 * so the cockpit panel and the "viewing as" flag arrive in a <template> and
 * are put at the top of the shadow root, where they stay visible. "Show" outlines a personalised block
 * on the page (marked data-segments-block="N" for editors only).
 */
(function () {
  "use strict";

  function outline(number, on) {
    document.querySelectorAll('[data-segments-block="' + number + '"]').forEach(function (marker) {
      var target = marker.firstElementChild || marker;
      target.style.outline = on ? "4px solid #fd5765" : "";
      target.style.outlineOffset = on ? "4px" : "";
      if (on) {
        target.scrollIntoView({ behavior: "smooth", block: "center" });
      }
    });
  }

  function wire(root) {
    var template = root.querySelector("[data-segments-cockpit-template]");
    var opener = root.querySelector("[data-segments-cockpit-open]");
    if (!template || !opener) {
      return false;
    }
    var host = template.closest("aside") || root;
    host.appendChild(template.content.cloneNode(true));
    template.remove();
    var panel = host.querySelector("[data-segments-cockpit]");

    function close() {
      panel.hidden = true;
      opener.focus();
    }

    opener.addEventListener("click", function () {
      panel.hidden = !panel.hidden;
      if (!panel.hidden) {
        panel.querySelector("h2").focus();
      }
    });
    root.querySelector("[data-segments-cockpit-close]").addEventListener("click", close);
    panel.addEventListener("keydown", function (event) {
      if (event.key === "Escape") {
        event.stopPropagation();
        close();
      }
    });
    panel.querySelectorAll("[data-segments-highlight]").forEach(function (button) {
      button.addEventListener("click", function () {
        var on = button.getAttribute("aria-pressed") !== "true";
        button.setAttribute("aria-pressed", String(on));
        button.textContent = on ? button.dataset.hideLabel : button.dataset.showLabel;
        outline(button.getAttribute("data-segments-highlight"), on);
      });
    });
    return true;
  }

  function start(attempt) {
    var userbar = document.querySelector("wagtail-userbar");
    var root = userbar && userbar.shadowRoot;
    if ((!root || !wire(root)) && attempt < 100) {
      // The userbar attaches its shadow root once its script has run.
      window.setTimeout(start, 50, attempt + 1);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () {
      start(0);
    });
  } else {
    start(0);
  }
})();
