/*
 * Small behaviours of the public site and the portal, wired here instead of inline handlers so that
 * the Content-Security-Policy can refuse inline script:
 * - <select data-autosubmit> submits its form when changed (the language switcher);
 * - <button data-print> prints the page (the receipt);
 * - <select data-narrows="id">: changing it hides the choices of the select #id whose data-city is
 *   another value (the directory's districts follow the chosen city); a hidden choice is unselected;
 * - <button data-toggle="id" aria-expanded> opens and closes the element #id (the phone menu, the
 *   account menu); Escape or a click elsewhere closes what is open.
 */
(function () {
  "use strict";
  function setOpen(button, open) {
    var target = document.getElementById(button.getAttribute("data-toggle"));
    if (!target) return;
    button.setAttribute("aria-expanded", open ? "true" : "false");
    target.classList.toggle("open", open);
  }
  function closeAll(except) {
    document.querySelectorAll("[data-toggle][aria-expanded='true']").forEach(function (button) {
      if (button !== except && !(except && button.contains(except))) setOpen(button, false);
    });
  }
  function narrow(select) {
    var target = document.getElementById(select.getAttribute("data-narrows"));
    if (!target) return;
    target.querySelectorAll("[data-city]").forEach(function (choice) {
      var other = select.value !== "" && choice.getAttribute("data-city") !== select.value;
      choice.hidden = other;
      choice.disabled = other;
      if (other && choice.selected) target.value = "";
    });
  }
  document.addEventListener("change", function (event) {
    var field = event.target;
    if (field.matches && field.matches("select[data-autosubmit]") && field.form) field.form.submit();
    if (field.matches && field.matches("select[data-narrows]")) narrow(field);
  });
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-print]");
    if (button) window.print();
    var toggle = event.target.closest && event.target.closest("[data-toggle]");
    if (toggle) {
      var open = toggle.getAttribute("aria-expanded") !== "true";
      // the account menu lives inside the phone menu: opening it keeps the phone menu open
      document.querySelectorAll("[data-toggle][aria-expanded='true']").forEach(function (other) {
        var panel = document.getElementById(other.getAttribute("data-toggle"));
        if (other !== toggle && !(panel && panel.contains(toggle))) setOpen(other, false);
      });
      setOpen(toggle, open);
      return;
    }
    var inside = event.target.closest && event.target.closest(".open");
    if (!inside) closeAll(null);
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") closeAll(null);
  });
})();
