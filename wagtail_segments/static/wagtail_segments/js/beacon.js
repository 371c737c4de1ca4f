/* wagtail_segments: report this page view to the beacon endpoint (TRACKING = "beacon").
 *
 * In beacon tracking a page records nothing while it is served, so that a
 * cache can give the same copy to everyone. This script (rendered by
 * {% segments_script %} with data-beacon-url and data-page) sends the page
 * id with location.search and document.referrer, which the endpoint records
 * as the visit's landing context; its answer sets the visitor's cookies.
 * A page with fragment placeholders sends nothing: the fragment request,
 * which carries the same context, records the view.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  var endpoint = script && script.dataset.beaconUrl;
  var page = script && script.dataset.page;
  var MAX_LENGTH = 2000; // what the endpoint accepts of each

  function send() {
    if (!endpoint || !page || document.querySelector("[data-segments-fragment]")) {
      return false;
    }
    var body = new URLSearchParams({
      page: page,
      search: window.location.search.slice(0, MAX_LENGTH),
      referrer: document.referrer.slice(0, MAX_LENGTH),
    });
    if (navigator.sendBeacon && navigator.sendBeacon(endpoint, body)) {
      return true;
    }
    fetch(endpoint, { method: "POST", body: body, credentials: "same-origin", keepalive: true });
    return true;
  }

  if (document.prerendering) {
    // A page prerendered in case the visitor follows a link is viewed only when shown.
    document.addEventListener("prerenderingchange", send, { once: true });
  } else {
    send();
  }
})();
