/* Shop Segments admin: session token and CSRF token on every htmx request.
 *
 * Embedded in Shopify's admin, App Bridge adds the session token to fetch() only; htmx
 * uses XMLHttpRequest, so each htmx request waits for shopify.idToken() (async) in
 * htmx:confirm, then htmx:configRequest puts it in the Authorization header. Standalone,
 * the cookie session's CSRF token (meta csrf-token) goes in X-CSRF-Token. Without App
 * Bridge (it failed to load, or standalone) requests go out as they are.
 */
(function () {
  "use strict";
  var pendingToken = null;

  function appBridge() {
    var shopify = window.shopify;
    return shopify && typeof shopify.idToken === "function" ? shopify : null;
  }

  document.addEventListener("htmx:confirm", function (event) {
    var shopify = appBridge();
    if (!shopify) return;
    event.preventDefault();
    var question = event.detail.question;
    if (question && !window.confirm(question)) return;
    shopify.idToken().then(
      function (token) { pendingToken = token; event.detail.issueRequest(true); },
      function () { pendingToken = null; event.detail.issueRequest(true); }
    );
  });

  document.addEventListener("htmx:configRequest", function (event) {
    // issueRequest() runs synchronously into this event, so the token is this request's.
    if (pendingToken) event.detail.headers["Authorization"] = "Bearer " + pendingToken;
    pendingToken = null;
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) event.detail.headers["X-CSRF-Token"] = meta.content;
  });

  // An expired or not-yet-valid session token: Shopify's convention is a 401 carrying
  // X-Shopify-Retry-Invalid-Session-Request, after which the app asks App Bridge for a
  // fresh token and sends the request once more (once: a second 401 is shown as an error).
  var retried = new WeakSet();
  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr, config = event.detail.requestConfig, elt = event.detail.elt;
    if (!appBridge() || !window.htmx || !xhr || xhr.status !== 401) return;
    if (!xhr.getResponseHeader("X-Shopify-Retry-Invalid-Session-Request")) return;
    if (retried.has(elt)) { retried.delete(elt); return; }
    retried.add(elt);
    window.htmx.ajax(config.verb.toUpperCase(), config.path, {
      source: elt, target: event.detail.target, values: config.parameters
    }).then(function () { retried.delete(elt); });
  });

  // "Did you mean": put the suggestion in place of the marked word and preview again.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-replace]");
    var query = document.getElementById("query");
    if (!button || !query) return;
    var from = button.getAttribute("data-replace");
    var at = query.value.indexOf(from);
    if (at < 0) return;
    query.value = query.value.slice(0, at) + button.getAttribute("data-with") +
      query.value.slice(at + from.length);
    query.dispatchEvent(new Event("input", { bubbles: true }));
    query.focus();
  });

  document.addEventListener("DOMContentLoaded", function () {
    if (appBridge()) document.documentElement.classList.add("app-bridge");
    // A form the server sends back with its errors (422) is shown like any page.
    if (window.htmx) {
      window.htmx.config.responseHandling = [
        { code: "204", swap: false },
        { code: "[23]..", swap: true },
        { code: "422", swap: true },
        { code: "[45]..", swap: false, error: true },
      ];
    }
  });
})();
