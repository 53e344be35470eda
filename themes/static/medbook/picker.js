/*
 * The portal's time picker (portal/picker.py (picker_html)): day tabs switch without a reload
 * (each tab is a real link, so the picker works without this script); arrow keys move between
 * tabs. A file of our own, so the Content-Security-Policy needs no inline script for it.
 */
(function () {
  "use strict";
  function show(picker, day) {
    var panel = picker.querySelector('[data-panel="' + day + '"]');
    if (!panel) return null;
    picker.querySelectorAll('[role="tab"]').forEach(function (tab) {
      var on = tab.getAttribute("data-day") === day;
      tab.setAttribute("aria-selected", on ? "true" : "false");
      tab.setAttribute("tabindex", on ? "0" : "-1");
    });
    picker.querySelectorAll("[data-panel]").forEach(function (other) { other.hidden = other !== panel; });
    return picker.querySelector('[role="tab"][data-day="' + day + '"]');
  }
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("[data-picker] a[data-day]");
    if (!link) return;
    var tab = show(link.closest("[data-picker]"), link.getAttribute("data-day"));
    if (!tab) return; // a day of another week: follow the link
    event.preventDefault();
    if (link !== tab) tab.scrollIntoView({block: "nearest"});
  });
  document.addEventListener("keydown", function (event) {
    var tab = event.target.closest && event.target.closest('[data-picker] [role="tab"]');
    if (!tab || (event.key !== "ArrowRight" && event.key !== "ArrowLeft")) return;
    var tabs = Array.prototype.slice.call(tab.parentNode.querySelectorAll('[role="tab"]'));
    var next = tabs[(tabs.indexOf(tab) + (event.key === "ArrowRight" ? 1 : tabs.length - 1)) % tabs.length];
    event.preventDefault();
    show(tab.closest("[data-picker]"), next.getAttribute("data-day"));
    next.focus();
  });
})();
