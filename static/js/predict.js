// The predict form: while a file is scored (large ones take a while), say so and keep the button
// from being pressed twice.
(function () {
  "use strict";
  var form = document.getElementById("predict-form");
  if (!form) return;
  var status = document.getElementById("predict-status");
  form.addEventListener("submit", function () {
    var input = form.querySelector("input[type=file]");
    var file = input && input.files && input.files[0];
    if (!file) return;
    var mb = file.size / (1024 * 1024);
    status.textContent = "Scoring " + file.name + (mb >= 1 ? " (" + mb.toFixed(1) + " MB)" : "") +
      "… large files take a few seconds per hundred thousand rows.";
    status.hidden = false;
    form.querySelector("button[type=submit]").disabled = true;
    form.setAttribute("aria-busy", "true");
  });
})();
