// The client area's scripts, in a file: the Content-Security-Policy (docs/security.md) runs no inline script
// and applies no style attribute. Sizes and colours that come from data are set through the DOM here.
(function () {
  "use strict";
  document.querySelectorAll("[data-width]").forEach(function (el) { el.style.width = el.dataset.width + "%"; });
  document.querySelectorAll("[data-background]").forEach(function (el) { el.style.background = el.dataset.background; });
  document.querySelectorAll("[data-action='print']").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });
  // A select that applies at once (the storefront's currency): its form is sent when the choice changes.
  document.querySelectorAll("[data-submit-on-change]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });
  // The phone's section strip of a mail service shows the current section; record values have a Copy button.
  var current = document.querySelector(".mail-tabs .btn-primary");
  if (current) { current.scrollIntoView({block: "nearest", inline: "center"}); }
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(button.dataset.copy).then(function () { button.textContent = "Copied"; });
    });
  });
})();
