// A background scoring job: poll its state until it ends, then offer the download.
(function () {
  "use strict";
  var card = document.getElementById("job-card");
  if (!card) return;
  var ENDED = ["succeeded", "failed"];

  function show(job) {
    var badge = document.getElementById("job-status");
    badge.textContent = job.status;
    badge.className = "badge " + job.status;
    document.getElementById("job-bar").style.width = Math.round(100 * job.progress) + "%";
    document.getElementById("job-text").textContent = job.status === "succeeded"
      ? job.rows.toLocaleString() + " rows scored"
      : job.rows_done.toLocaleString() + " of about " + job.rows.toLocaleString() + " rows scored";
    var err = document.getElementById("job-error");
    err.textContent = job.error || "";
    err.hidden = !job.error;
    var notes = document.getElementById("job-notes");
    notes.replaceChildren.apply(notes, (job.notes || []).map(function (n) {
      var li = document.createElement("li");
      li.textContent = n;
      return li;
    }));
    document.getElementById("job-done").hidden = job.status !== "succeeded";
  }

  function poll() {
    fetch(card.dataset.statusUrl, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.json(); })
      .then(function (job) {
        show(job);
        if (ENDED.indexOf(job.status) < 0) window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  poll();
}());
