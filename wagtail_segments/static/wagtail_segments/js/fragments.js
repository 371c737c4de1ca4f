/* wagtail_segments: fill in personalised blocks on a page served from a shared cache.
 *
 * In the "fragments" cache mode every visitor gets the same page, with the
 * default content of each personalised block inside an element marked
 * data-segments-fragment="N". This script asks the fragment endpoint (this
 * script tag's data-fragments-url) for this visitor's version of the page's
 * blocks (sending the page's location.search and document.referrer, which
 * rules about the visit's landing read) and swaps each one in; if the call
 * fails the defaults stay.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  var endpoint = script && script.dataset.fragmentsUrl;
  var MAX_LENGTH = 2000; // what the endpoint accepts of the query and of the referrer

  function fill() {
    var placeholders = document.querySelectorAll("[data-segments-fragment]");
    if (!endpoint || !placeholders.length) {
      return Promise.resolve(0);
    }
    // The page's query and referrer: rules about the visit's landing (a campaign) see them.
    var url =
      endpoint +
      "?" +
      new URLSearchParams({
        path: window.location.pathname,
        search: window.location.search.slice(0, MAX_LENGTH),
        referrer: document.referrer.slice(0, MAX_LENGTH),
      });
    return fetch(url, { credentials: "same-origin" })
      .then(function (response) {
        return response.ok ? response.json() : { fragments: [] };
      })
      .then(function (data) {
        var fragments = data.fragments || [];
        if (fragments.length !== placeholders.length) {
          return 0; // the page changed since it was cached: keep the defaults
        }
        placeholders.forEach(function (placeholder, index) {
          placeholder.innerHTML = fragments[index];
        });
        document.documentElement.dispatchEvent(new CustomEvent("segments:filled"));
        return placeholders.length;
      });
  }

  window.wagtailSegments = Object.assign(window.wagtailSegments || {}, { fill: fill });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", fill);
  } else {
    fill();
  }
})();
