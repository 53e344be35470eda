/*
 * A message thread (portal and admin): new messages appear within a few seconds without a reload,
 * and the reply form sends without leaving the page. Without JavaScript the form posts normally.
 *
 * Markup: <ol id="thread" data-poll-url data-after> with <li class="thread-message" data-id>, and
 * <form id="reply-form" [data-send-url]> with a textarea named "body". Message text is only ever
 * inserted with textContent, never as HTML.
 */
(function () {
  "use strict";

  var thread = document.getElementById("thread");
  if (!thread) return;
  var form = document.getElementById("reply-form");
  var pollUrl = thread.getAttribute("data-poll-url");
  var after = parseInt(thread.getAttribute("data-after") || "0", 10);
  var POLL_MS = 3000, MAX_BACKOFF_MS = 30000;
  var delay = POLL_MS, timer = 0, polling = false;

  function scrollToEnd() { thread.scrollTop = thread.scrollHeight; }

  function append(message) {
    if (thread.querySelector('[data-id="' + message.id + '"]')) return;
    var empty = document.getElementById("thread-empty");
    if (empty) empty.remove();
    var item = document.createElement("li");
    item.className = "thread-message" + (message.mine ? " mine" : "");
    item.setAttribute("data-id", String(message.id));
    var who = document.createElement("span");
    who.className = "who";
    who.appendChild(document.createTextNode(message.sender + " · "));
    var time = document.createElement("time");
    time.setAttribute("datetime", message.createdAt);
    time.textContent = message.time;
    who.appendChild(time);
    var body = document.createElement("p");
    body.className = "body";
    body.textContent = message.body;
    item.appendChild(who);
    item.appendChild(body);
    thread.appendChild(item);
    after = Math.max(after, message.id);
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(poll, delay);
  }

  function poll() {
    if (polling) return;
    polling = true;
    var visible = document.visibilityState === "visible";
    var url = pollUrl + "?after=" + after + (visible ? "&read=1" : "");
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.json();
      })
      .then(function (data) {
        var atEnd = thread.scrollHeight - thread.scrollTop - thread.clientHeight < 40;
        data.messages.forEach(append);
        if (data.messages.length && atEnd) scrollToEnd();
        delay = POLL_MS;
      })
      .catch(function () { delay = Math.min(delay * 2, MAX_BACKOFF_MS); })
      .then(function () { polling = false; schedule(); });
  }

  if (form) {
    var textarea = form.querySelector("textarea[name=body]");
    var counter = document.getElementById("char-count");
    var error = document.getElementById("reply-error");
    var button = form.querySelector("button[type=submit]");
    var updateCount = function () { if (counter) counter.textContent = String(textarea.value.length); };
    textarea.addEventListener("input", updateCount);
    textarea.addEventListener("keydown", function (event) {
      // Ctrl/Cmd+Enter sends; Enter alone makes a new line.
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) form.requestSubmit();
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (!textarea.value.trim()) { error.textContent = textarea.validationMessage || ""; return; }
      button.disabled = true;
      error.textContent = "";
      fetch(form.getAttribute("data-send-url") || form.action, {
        method: "POST",
        credentials: "same-origin",
        headers: { Accept: "application/json" },
        body: new FormData(form),
      })
        .then(function (response) {
          return response.json().then(function (data) {
            if (!response.ok) throw new Error((data.error && data.error.message) || String(response.status));
            return data;
          });
        })
        .then(function (data) {
          append(data.message);
          scrollToEnd();
          textarea.value = "";
          updateCount();
        })
        .catch(function (problem) { error.textContent = problem.message; })
        .then(function () { button.disabled = false; textarea.focus(); });
    });
    updateCount();
  }

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") { delay = POLL_MS; poll(); }
  });
  scrollToEnd();
  schedule();
})();
