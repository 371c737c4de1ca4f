/* wagtail_segments: send front-end events to the event endpoint.
 *
 *   wagtailSegments.track("newsletter-signup");
 *   <button data-segments-event="brochure-download">…</button>
 *
 * The endpoint URL comes from this script tag's data-event-url attribute
 * (rendered by {% segments_script %}); Django's CSRF cookie authorises the call.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  var endpoint = script && script.dataset.eventUrl;

  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function track(name, count) {
    if (!endpoint) {
      return Promise.reject(new Error("wagtail_segments: no event endpoint configured"));
    }
    return fetch(endpoint, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify({ event: name, count: count || 1 }),
    }).then(function (response) {
      return response.json();
    });
  }

  document.addEventListener("click", function (event) {
    var element = event.target.closest && event.target.closest("[data-segments-event]");
    if (element) {
      track(element.getAttribute("data-segments-event"));
    }
  });

  window.wagtailSegments = Object.assign(window.wagtailSegments || {}, { track: track });
})();
