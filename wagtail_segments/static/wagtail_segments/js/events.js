/* wagtail_segments: send front-end events to the event endpoint.
 *
 *   wagtailSegments.track("newsletter-signup");
 *   <button data-segments-event="brochure-download">…</button>
 *
 * The endpoint URL comes from this script tag's data-event-url attribute
 * (rendered by {% segments_script %}). The endpoint takes JSON only, which a
 * browser sends from this site's own pages, so no CSRF token is needed.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  var endpoint = script && script.dataset.eventUrl;

  function track(name, count) {
    if (!endpoint) {
      return Promise.reject(new Error("wagtail_segments: no event endpoint configured"));
    }
    return fetch(endpoint, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
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
