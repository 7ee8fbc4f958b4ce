// The portal's scripts in the staff area, in a file: the Content-Security-Policy (docs/security.md) runs no
// inline script.
(function () {
  "use strict";
  // A CDR import's page follows the import's progress until it is done, then reloads with the report.
  var box = document.getElementById("import-progress");
  if (!box) { return; }
  function poll() {
    fetch(box.dataset.url, {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (data) {
      box.querySelector("progress").value = data.percent;
      box.querySelector(".label").textContent = data.percent + "% · " + data.lines + " lines";
      if (data.done) { window.location.reload(); } else { setTimeout(poll, 1500); }
    }).catch(function () { setTimeout(poll, 5000); });
  }
  setTimeout(poll, 1500);
})();
