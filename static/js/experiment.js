// Live experiment page: polls the status endpoint, updates progress, the sortable leaderboard and
// the event log in place, stops polling when the run ends and then loads the results section.
(function () {
  "use strict";
  var state = JSON.parse(document.getElementById("initial-state").textContent);
  var metricHelp = JSON.parse(document.getElementById("metric-help-data").textContent);
  var statusUrl = window.location.pathname.replace(/\/$/, "") + "/status.json";
  var lastSeq = 0;
  var FINISHED = ["succeeded", "failed", "cancelled"];
  var HIGHER = ["auc", "aucpr"];
  var STATUS_WORDS = {queued: "waiting", running: "running", succeeded: "succeeded", failed: "failed",
                      cancelled: "stopped by you"};
  var sortBy = null;   // null: the run's own ranking
  var sortDir = 1;
  var current = state;
  var resultsLoaded = !!document.getElementById("model-picker") || !!document.getElementById("no-results");

  function fmt(v) {
    if (v === null || v === undefined) return "–";
    if (typeof v !== "number") return String(v);
    if (v !== 0 && Math.abs(v) < 0.001) return v.toExponential(2);
    return Number(v.toPrecision(4)).toString();
  }

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }

  function metricColumns(rows) {
    if (!rows.length) return [];
    var skip = ["model_id", "algo", "algo_name", "status", "rank", "is_leader", "download_url", "url",
                "test_metrics", "error", "training_time_ms", "predict_time_per_row_ms",
                "mean_residual_deviance"];  // an exact copy of MSE for these models: shown once
    return Object.keys(rows[0]).filter(function (k) { return skip.indexOf(k) < 0; });
  }

  function label(key) {
    return (metricHelp[key] && metricHelp[key].name) || key;
  }

  function sortedRows(rows) {
    if (!sortBy) return rows.slice();
    return rows.slice().sort(function (a, b) {
      var x = a[sortBy], y = b[sortBy];
      if (x === null || x === undefined) return 1;
      if (y === null || y === undefined) return -1;
      if (typeof x === "string") return sortDir * x.localeCompare(y);
      return sortDir * (x - y);
    });
  }

  function header(key, text, s) {
    var th = el("th");
    var button = el("button", text, "sort");
    button.type = "button";
    if (metricHelp[key]) button.title = metricHelp[key].help;
    th.appendChild(button);
    if (key === s.sort_metric) th.classList.add("sorted");
    if (key === sortBy) th.setAttribute("aria-sort", sortDir > 0 ? "ascending" : "descending");
    button.addEventListener("click", function () {
      if (sortBy === key) sortDir = -sortDir;
      else { sortBy = key; sortDir = HIGHER.indexOf(key) >= 0 ? -1 : 1; }
      renderLeaderboard(current);
    });
    return th;
  }

  function modelRow(r, cols) {
    var tr = el("tr");
    tr.dataset.modelId = r.model_id;
    if (r.is_leader) tr.className = "leader";
    tr.appendChild(el("td", String(r.rank), "num"));
    var name = el("td", null, "model-name");
    var link = el("a", r.model_id);
    link.href = r.url;
    name.appendChild(link);
    if (r.is_leader) name.appendChild(el("span", "best", "badge succeeded"));
    name.appendChild(el("div", r.algo_name, "muted small"));
    tr.appendChild(name);
    cols.forEach(function (c) { tr.appendChild(el("td", fmt(r[c]), "num")); });
    tr.appendChild(el("td", fmt(r.training_time_ms / 1000), "num"));
    tr.appendChild(el("td", fmt(r.predict_time_per_row_ms), "num"));
    var dl = el("td");
    var a = el("a", "download");
    a.href = "models/" + encodeURIComponent(r.model_id) + "/download/";
    dl.appendChild(a);
    tr.appendChild(dl);
    tr.addEventListener("click", function (e) {
      if (e.target.tagName === "A" || !resultsLoaded) return;
      selectModel(r.model_id, true);
    });
    return tr;
  }

  function failedRow(f, width) {
    var tr = el("tr", null, "failed");
    tr.dataset.modelId = f.model_id;
    tr.appendChild(el("td", "–", "num"));
    var name = el("td", f.model_id);
    name.appendChild(el("span", "failed", "badge failed"));
    name.appendChild(el("div", f.algo_name, "muted small"));
    tr.appendChild(name);
    var reason = el("td", "Failed: " + (f.reason || "unknown reason"), "wrap reason");
    reason.colSpan = width;
    tr.appendChild(reason);
    return tr;
  }

  function renderLeaderboard(s) {
    var table = document.getElementById("leaderboard");
    var rows = s.leaderboard;
    document.getElementById("no-models").hidden = rows.length > 0 || s.failed_models.length > 0;
    var cols = metricColumns(rows.length ? rows : s.failed_models);
    var main = cols.indexOf(s.sort_metric);  // the ranking measure first, so it shows on a phone too
    if (main > 0) cols = [s.sort_metric].concat(cols.slice(0, main), cols.slice(main + 1));
    var head = el("tr");
    head.appendChild(header("rank", "#", s));
    head.appendChild(header("model_id", "Model", s));
    cols.forEach(function (c) { head.appendChild(header(c, label(c), s)); });
    head.appendChild(header("training_time_ms", "Train (s)", s));
    head.appendChild(header("predict_time_per_row_ms", "ms / row", s));
    head.appendChild(el("th", ""));
    table.tHead.replaceChildren(head);
    var body = document.createElement("tbody");
    sortedRows(rows).forEach(function (r) { body.appendChild(modelRow(r, cols)); });
    s.failed_models.forEach(function (f) { body.appendChild(failedRow(f, cols.length + 3)); });
    table.replaceChild(body, table.tBodies[0]);
    markSelected();
  }

  function renderProgress(s) {
    var badge = document.getElementById("status");
    badge.textContent = s.status === "running" && s.cancel_requested ? "stopping…"
      : STATUS_WORDS[s.status] || s.status;
    badge.className = "badge " + s.status;
    var p = s.progress;
    var bar = document.getElementById("progress-bar");
    bar.style.width = Math.round(100 * p.fraction) + "%";
    bar.parentNode.setAttribute("aria-valuenow", String(Math.round(100 * p.fraction)));
    var ensembles = s.leaderboard.filter(function (r) { return r.algo === "StackedEnsemble"; }).length;
    var fresh = p.models_done - (p.models_before || 0);  // a continued run counts its new models
    function done(n, word) {  // "1 model done", "3 of 5 models done"
      var of = p.max_models ? " of " + p.max_models : "";
      return n + of + " " + word + (n === 1 && !of ? "" : "s") + " done";
    }
    var parts = [(p.continued ? done(fresh, "new model") + " (" + p.models_done + " in all)"
                  : done(p.models_done, "model")) +
                 (ensembles ? " + " + ensembles + " stacked ensemble" + (ensembles > 1 ? "s" : "") : "")];
    if (s.started_at) {
      var end = s.finished_at ? new Date(s.finished_at) : new Date();
      var used = Math.max(0, Math.round((end - new Date(s.started_at)) / 1000));
      parts.push(used + " s" + (p.max_runtime_secs ? " of " + p.max_runtime_secs + " s" : "") + " used");
      if (p.max_runtime_secs && FINISHED.indexOf(s.status) < 0) {
        parts.push("about " + Math.max(1, p.max_runtime_secs - used) + " s left");
      }
    }
    if (p.current_model && FINISHED.indexOf(s.status) < 0) parts.push("now: " + p.current_model);
    if (s.status === "queued") parts = [p.waiting || "waiting for a worker…"];
    document.getElementById("progress-text").textContent = parts.join(" · ");
    document.getElementById("task").textContent = s.task;
    document.getElementById("task-reason").textContent = s.task_reason || "";
    if (s.sort_metric) document.getElementById("sort-metric").textContent = label(s.sort_metric);
    var err = document.getElementById("error");
    err.textContent = s.error || "";
    err.hidden = !s.error;
    var stop = document.getElementById("stop-form");
    if (stop && !stop.dataset.wired) {  // say at once that the click was heard
      stop.dataset.wired = "1";
      stop.addEventListener("submit", function () { badge.textContent = "stopping…"; });
    }
    if (stop && FINISHED.indexOf(s.status) >= 0) stop.hidden = true;
  }

  function renderNotes(info) {
    if (!info) return;
    renderForecast(info.forecast);
    if (info.validation) {
      var note = document.getElementById("cv-note");
      note.textContent = info.validation.indexOf("CV") >= 0 ? info.validation.replace("CV", "cross-validation")
        : "a " + info.validation + " of the rows set aside";
      note.title = info.validation_reason || "";
    }
    var notes = (info.warnings || []).slice();
    if (info.dropped_columns && info.dropped_columns.length) {
      notes.push("Not used to predict: " + info.dropped_columns.map(function (d) {
        return d.name + " (" + d.reason + ")";
      }).join("; ") + ".");
    }
    if (info.dropped_rows) notes.push(info.dropped_rows.toLocaleString("en-US") + " rows without a value to predict were left out.");
    var list = document.getElementById("run-warnings");
    list.replaceChildren();
    notes.forEach(function (n) { list.appendChild(el("li", n)); });
    document.getElementById("run-notes").hidden = notes.length === 0;
  }

  function renderForecast(f) {
    var line = document.getElementById("forecast");
    if (!f || f.expected_models === undefined || f.expected_models === null) return;
    var text = "Expected at the start: about " + f.expected_models + " model" + (f.expected_models === 1 ? "" : "s") +
      ", the first after about " + Math.round(f.first_model_secs) + " s.";
    if (f.actual_models !== undefined) {
      text += " Trained: " + f.actual_models + " model" + (f.actual_models === 1 ? "" : "s") + " in " +
        Math.round(f.actual_wall_secs) + " s.";
    }
    line.textContent = text;
    line.hidden = false;
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

  function renderMetricHelp() {
    var dl = document.getElementById("metric-help");
    dl.replaceChildren();
    metricColumns(current.leaderboard.length ? current.leaderboard : []).forEach(function (k) {
      if (!metricHelp[k]) return;
      dl.appendChild(el("dt", metricHelp[k].name));
      dl.appendChild(el("dd", metricHelp[k].help));
    });
    dl.appendChild(el("dt", "Time per row"));
    dl.appendChild(el("dd", "How long the model takes to predict one row, in milliseconds."));
  }

  // -- results: the model picker and its charts -----------------------------------------------
  function markSelected() {
    var picker = document.getElementById("model-picker");
    var chosen = picker ? picker.value : null;
    document.querySelectorAll("#leaderboard tbody tr").forEach(function (tr) {
      tr.classList.toggle("selected", !!chosen && tr.dataset.modelId === chosen);
    });
  }

  function selectModel(modelId, scroll) {
    var picker = document.getElementById("model-picker");
    var container = document.getElementById("model-charts");
    if (!picker || !container) return;
    picker.value = modelId;
    markSelected();
    var url = picker.dataset.chartsUrlTemplate.replace("MODEL_ID", encodeURIComponent(modelId));
    window.AutoMLModelCharts.load(container, url);
    if (scroll) document.getElementById("explain").scrollIntoView({behavior: "smooth", block: "start"});
  }

  function initResults() {
    var picker = document.getElementById("model-picker");
    window.AutoMLCharts.drawAll(document.getElementById("results"), true);
    if (!picker) return;
    resultsLoaded = true;
    picker.addEventListener("change", function () { selectModel(picker.value, false); });
    selectModel(picker.value, false);
  }

  function loadResults() {
    var holder = document.getElementById("results");
    fetch(holder.dataset.resultsUrl, {credentials: "same-origin"})
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
      .then(function (html) {
        holder.innerHTML = html;
        var card = document.getElementById("leader-card");
        if (card) document.getElementById("leader-slot").replaceChildren(card);
        initResults();
      })
      .catch(function () { window.setTimeout(loadResults, 5000); });
  }

  function render(s) {
    current = s;
    renderProgress(s);
    renderNotes(s.run_info);
    renderLeaderboard(s);
    renderEvents(s.events);
    renderMetricHelp();
  }

  function poll() {
    fetch(statusUrl + "?since=" + lastSeq, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (s) {
        render(s);
        if (FINISHED.indexOf(s.status) < 0) schedule();
        else if (!resultsLoaded) loadResults();
      })
      .catch(function () { schedule(5000); });
  }

  function schedule(delay) {
    window.setTimeout(poll, delay || (document.hidden ? 5000 : 1000));
  }

  render(state);
  if (FINISHED.indexOf(state.status) < 0) schedule();
  else if (resultsLoaded) initResults();
  else loadResults();
})();
