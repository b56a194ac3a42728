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

  // Autocomplete in the segment editor: the server says what may come at the cursor
  // (GET, so no CSRF token; App Bridge adds the session token to fetch when embedded).
  var completion = { list: null, query: null, items: [], active: -1, start: 0, end: 0, seq: 0 };

  function closeSuggestions() {
    if (!completion.list) return;
    completion.list.hidden = true;
    completion.list.innerHTML = "";
    completion.items = [];
    completion.active = -1;
    completion.query.setAttribute("aria-expanded", "false");
    completion.query.removeAttribute("aria-activedescendant");
  }

  function showActive() {
    var options = completion.list.children;
    for (var i = 0; i < options.length; i++) {
      options[i].setAttribute("aria-selected", i === completion.active ? "true" : "false");
    }
    if (completion.active >= 0) {
      completion.query.setAttribute("aria-activedescendant", options[completion.active].id);
      options[completion.active].scrollIntoView({ block: "nearest" });
    } else {
      completion.query.removeAttribute("aria-activedescendant");
    }
  }

  function renderSuggestions(answer) {
    var list = completion.list, lang = (document.documentElement.lang || "en").slice(0, 2);
    list.innerHTML = "";
    completion.items = answer.suggestions || [];
    completion.start = answer.start;
    completion.end = answer.end;
    completion.active = -1;
    // After a finished condition only AND / OR / ")" can follow: offered once a letter is
    // typed, so the list does not cover the page after every value.
    var onlyKeywords = completion.items.every(function (item) { return item.kind === "keyword"; });
    if (!completion.items.length || (onlyKeywords && answer.start === answer.end)) {
      closeSuggestions();
      return;
    }
    completion.items.forEach(function (item, i) {
      var li = document.createElement("li"), code = document.createElement("code");
      var kind = document.createElement("span"), detail = document.createElement("span");
      li.id = "query-suggestion-" + i;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", "false");
      li.dataset.index = String(i);
      code.textContent = item.text;  // textContent: the shop's values are never HTML
      kind.className = "kind";
      kind.textContent = list.getAttribute("data-kind-" + item.kind) || item.kind;
      detail.className = "detail";
      if (item.count) {
        detail.textContent = list.getAttribute("data-customers").replace("{n}", item.count.toLocaleString(lang));
      } else if (item.detail && (item.kind === "value" || lang === "en")) {
        detail.textContent = item.detail;  // the catalogue's descriptions are English
      }
      li.appendChild(code);
      li.appendChild(kind);
      li.appendChild(detail);
      list.appendChild(li);
    });
    list.hidden = false;
    completion.query.setAttribute("aria-expanded", "true");
  }

  function askSuggestions() {
    var query = completion.query, seq = ++completion.seq;
    var url = query.getAttribute("data-complete-url");
    var params = "query=" + encodeURIComponent(query.value) + "&cursor=" + query.selectionStart;
    fetch(url + (url.indexOf("?") < 0 ? "?" : "&") + params, { headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (answer) {
        if (seq !== completion.seq || document.activeElement !== query) return;  // stale
        if (answer) renderSuggestions(answer); else closeSuggestions();
      })
      .catch(closeSuggestions);
  }

  function insertSuggestion(index) {
    var item = completion.items[index], query = completion.query;
    if (!item) return;
    var text = item.text + (/[(]$/.test(item.text) ? "" : " ");
    query.value = query.value.slice(0, completion.start) + text + query.value.slice(completion.end);
    var caret = completion.start + text.length;
    query.setSelectionRange(caret, caret);
    closeSuggestions();
    query.focus();
    query.dispatchEvent(new Event("input", { bubbles: true }));  // preview and suggest again
  }

  var suggestTimer = null;
  function suggestSoon() {
    clearTimeout(suggestTimer);
    suggestTimer = setTimeout(askSuggestions, 120);
  }

  function setUpCompletion() {
    var query = document.getElementById("query");
    var list = document.getElementById("query-suggestions");
    if (!query || !list || query.dataset.completion) return;
    query.dataset.completion = "on";
    completion.query = query;
    completion.list = list;
    query.addEventListener("input", suggestSoon);
    query.addEventListener("focus", suggestSoon);
    query.addEventListener("click", suggestSoon);
    query.addEventListener("blur", function () { setTimeout(closeSuggestions, 150); });
    query.addEventListener("keydown", function (event) {
      var open = !list.hidden && completion.items.length;
      if (event.key === "Escape" && open) { event.preventDefault(); closeSuggestions(); return; }
      if (event.key === " " && event.ctrlKey) { event.preventDefault(); askSuggestions(); return; }
      if (!open) {
        if (event.key === "ArrowLeft" || event.key === "ArrowRight") suggestSoon();
        return;
      }
      var count = completion.items.length;
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        // -1 is the text itself: moving past either end of the list comes back to it.
        var next = completion.active + (event.key === "ArrowDown" ? 1 : -1);
        completion.active = next >= count ? -1 : next < -1 ? count - 1 : next;
        showActive();
      } else if ((event.key === "Enter" || event.key === "Tab") && (completion.active >= 0 || event.key === "Tab")) {
        event.preventDefault();
        insertSuggestion(Math.max(completion.active, 0));
      }
    });
    list.addEventListener("mousedown", function (event) {
      var option = event.target.closest("li[role=option]");
      if (!option) return;
      event.preventDefault();  // keep the focus in the rule
      insertSuggestion(Number(option.dataset.index));
    });
  }

  document.addEventListener("htmx:load", setUpCompletion);  // a boosted visit swaps the page in

  document.addEventListener("DOMContentLoaded", function () {
    setUpCompletion();
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
