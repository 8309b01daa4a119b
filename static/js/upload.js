// The upload box: a file dropped on it (or chosen) is shown by name before it is sent.
(function () {
  "use strict";
  var zone = document.getElementById("dropzone");
  if (!zone) return;
  var input = zone.querySelector("input[type=file]");
  var name = document.getElementById("dropzone-file");

  function showName() {
    name.textContent = input.files && input.files.length ? input.files[0].name : "";
    zone.classList.toggle("has-file", !!(input.files && input.files.length));
  }

  ["dragenter", "dragover"].forEach(function (type) {
    zone.addEventListener(type, function (e) { e.preventDefault(); zone.classList.add("dragging"); });
  });
  ["dragleave", "drop"].forEach(function (type) {
    zone.addEventListener(type, function () { zone.classList.remove("dragging"); });
  });
  zone.addEventListener("drop", function (e) {
    e.preventDefault();
    if (e.dataTransfer && e.dataTransfer.files.length) {
      input.files = e.dataTransfer.files;
      showName();
    }
  });
  input.addEventListener("change", showName);
})();
