// Live experiment page: polls the status endpoint and updates the leaderboard in place.
(function () {
  "use strict";
  var state = JSON.parse(document.getElementById("initial-state").textContent);
  var statusUrl = window.location.pathname.replace(/\/$/, "") + "/status.json";
  var lastSeq = 0;
  var FINISHED = ["succeeded", "failed", "cancelled"];
  var HIGHER = ["auc", "aucpr"];

  function fmt(v) {
    if (v === null || v === undefined) return "–";
    if (typeof v !== "number") return String(v);
    if (v !== 0 && Math.abs(v) < 0.001) return v.toExponential(2);
    return Number(v.toPrecision(5)).toString();
  }

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }

  function metricColumns(rows) {
    if (!rows.length) return [];
    var skip = ["model_id", "algo", "status", "rank", "is_leader", "download_url", "test_metrics", "error",
                "training_time_ms", "predict_time_per_row_ms"];
    return Object.keys(rows[0]).filter(function (k) { return skip.indexOf(k) < 0; });
  }

  function renderLeaderboard(s) {
    var table = document.getElementById("leaderboard");
    var rows = s.leaderboard;
    document.getElementById("no-models").hidden = rows.length > 0;
    var cols = metricColumns(rows);
    var head = el("tr");
    ["#", "Model"].concat(cols).concat(["training time (ms)", "predict time / row (ms)", ""]).forEach(function (c) {
      var th = el("th", c);
      if (c === s.sort_metric) th.className = "sorted";
      head.appendChild(th);
    });
    table.tHead.replaceChildren(head);
    var body = document.createElement("tbody");
    rows.forEach(function (r) {
      var tr = el("tr");
      tr.dataset.modelId = r.model_id;
      if (r.is_leader) tr.className = "leader";
      tr.appendChild(el("td", String(r.rank)));
      var name = el("td", r.model_id);
      if (r.is_leader) name.appendChild(el("span", "leader", "badge succeeded"));
      tr.appendChild(name);
      cols.forEach(function (c) { tr.appendChild(el("td", fmt(r[c]), "num")); });
      tr.appendChild(el("td", fmt(r.training_time_ms), "num"));
      tr.appendChild(el("td", fmt(r.predict_time_per_row_ms), "num"));
      var dl = el("td");
      var a = el("a", "download");
      a.href = "models/" + encodeURIComponent(r.model_id) + "/download/";
      dl.appendChild(a);
      tr.appendChild(dl);
      body.appendChild(tr);
    });
    table.replaceChild(body, table.tBodies[0]);
    var failed = document.getElementById("failed-list");
    failed.replaceChildren();
    s.failed_models.forEach(function (f) { failed.appendChild(el("li", f.model_id + ": " + (f.error || "failed"))); });
    document.getElementById("failed").hidden = s.failed_models.length === 0;
  }

  function renderProgress(s) {
    var badge = document.getElementById("status");
    badge.textContent = s.status;
    badge.className = "badge " + s.status;
    var p = s.progress;
    document.getElementById("progress-bar").style.width = Math.round(100 * p.fraction) + "%";
    var ensembles = s.leaderboard.filter(function (r) { return r.algo === "StackedEnsemble"; }).length;
    var parts = [p.models_done + (p.max_models ? " of " + p.max_models : "") + " models done" +
                 (ensembles ? " + " + ensembles + " stacked ensemble" + (ensembles > 1 ? "s" : "") : "")];
    if (p.max_runtime_secs && s.started_at) {
      var end = s.finished_at ? new Date(s.finished_at) : new Date();
      var used = Math.max(0, Math.round((end - new Date(s.started_at)) / 1000));
      parts.push(used + " s of " + p.max_runtime_secs + " s used");
    }
    if (p.current_model && FINISHED.indexOf(s.status) < 0) parts.push("training " + p.current_model);
    if (s.status === "queued") parts = ["waiting for a worker…"];
    document.getElementById("progress-text").textContent = parts.join(" · ");
    document.getElementById("task").textContent = s.task;
    document.getElementById("task-reason").textContent = s.task_reason || "";
    if (s.sort_metric) document.getElementById("sort-metric").textContent = s.sort_metric;
    var err = document.getElementById("error");
    err.textContent = s.error || "";
    err.hidden = !s.error;
    var stop = document.getElementById("stop-form");
    if (stop && FINISHED.indexOf(s.status) >= 0) stop.hidden = true;
    if (s.leader && FINISHED.indexOf(s.status) >= 0) {
      document.getElementById("leader-card").hidden = false;
      document.getElementById("leader-id").textContent = s.leader;
      document.querySelectorAll(".leader-id").forEach(function (e) { e.textContent = s.leader; });
    }
  }

  function renderEvents(events) {
    var list = document.getElementById("events");
    events.forEach(function (e) {
      if (e.seq <= lastSeq) return;
      var li = el("li", e.message);
      li.prepend(el("time", new Date(e.at).toLocaleTimeString() + " "));
      list.prepend(li);
      lastSeq = e.seq;
    });
  }

  function render(s) {
    renderProgress(s);
    renderLeaderboard(s);
    renderEvents(s.events);
  }

  function poll() {
    fetch(statusUrl + "?since=" + lastSeq, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (s) {
        render(s);
        if (FINISHED.indexOf(s.status) < 0) schedule();
      })
      .catch(function () { schedule(5000); });
  }

  function schedule(delay) {
    window.setTimeout(poll, delay || (document.hidden ? 5000 : 1000));
  }

  render(state);
  if (FINISHED.indexOf(state.status) < 0) schedule();
})();
