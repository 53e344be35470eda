/*
 * Small behaviours of the public site and the portal, wired here instead of inline handlers so that
 * the Content-Security-Policy can refuse inline script:
 * - <select data-autosubmit> submits its form when changed (the language switcher);
 * - <button data-print> prints the page (the receipt).
 */
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var field = event.target;
    if (field.matches && field.matches("select[data-autosubmit]") && field.form) field.form.submit();
  });
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-print]");
    if (button) window.print();
  });
})();
