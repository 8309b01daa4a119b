// New experiment: show the task a target gives (and why), its warnings, the custom budget fields,
// and only the ranking measures that fit the task.
(function () {
  "use strict";
  var form = document.getElementById("experiment-form");
  if (!form) return;
  var choices = JSON.parse(document.getElementById("target-choices").textContent);
  var names = JSON.parse(document.getElementById("task-names").textContent);
  var target = document.getElementById("id_target");
  var task = document.getElementById("id_task");
  var metric = document.getElementById("id_sort_metric");
  var warnings = document.getElementById("target-warnings");
  var checking = document.getElementById("target-checking");
  var inferred = document.getElementById("task-inferred");
  var reason = document.getElementById("task-reason");
  var checkUrl = form.dataset.checkUrl;
  var requestNo = 0;

  function effectiveTask() {
    if (task.value !== "auto") return task.value;
    var info = choices[target.value] || {};
    return info.task || null;
  }

  function filterMetrics() {
    var t = effectiveTask();
    Array.prototype.forEach.call(metric.querySelectorAll("optgroup"), function (group) {
      var fits = !t || group.label.toLowerCase() === t;
      group.hidden = !fits;
      group.disabled = !fits;
    });
    var chosen = metric.options[metric.selectedIndex];
    if (chosen && chosen.parentNode.tagName === "OPTGROUP" && chosen.parentNode.disabled) metric.value = "";
  }

  function showInference() {
    var info = choices[target.value] || {};
    reason.textContent = "";
    inferred.className = "";
    if (task.value !== "auto") {
      inferred.innerHTML = "";
      inferred.appendChild(document.createTextNode("You chose to " + (names[task.value] || task.value) + "."));
    } else if (info.error) {
      inferred.textContent = info.error;
      inferred.className = "error";
    } else if (info.task) {
      inferred.textContent = "The models will " + (names[info.task] || info.task) + ".";
      reason.textContent = info.reason || "";
    }
  }

  function showWarnings(list) {
    warnings.replaceChildren();
    (list || []).forEach(function (w) {
      var li = document.createElement("li");
      li.textContent = w;
      warnings.appendChild(li);
    });
    warnings.hidden = !warnings.children.length;
  }

  var lastCheck = null;

  // The target check's notes, with the columns as the checkboxes now say: an identifier ticked is used,
  // a column unticked is left out.
  function showCheck() {
    var body = lastCheck;
    if (!body) return;
    if (body.error) {
      showWarnings([body.error]);
      return;
    }
    var notes = (body.warnings || []).slice();
    var columns = columnChoice();
    var dropped = Object.keys(body.not_used || {}).filter(function (c) {
      return columns.keep_columns.indexOf(c) < 0;
    });
    if (dropped.length) {
      notes.push("Not used to predict: " + dropped.map(function (c) {
        return c + " (" + body.not_used[c] + ")";
      }).join("; ") + ".");
    }
    if (columns.ignore_columns.length) notes.push("Left out by you: " + columns.ignore_columns.join(", ") + ".");
    showWarnings(notes);
  }

  function check() {
    var mine = ++requestNo;
    checking.hidden = false;
    showWarnings([]);
    var url = checkUrl + "?target=" + encodeURIComponent(target.value) + "&task=" + encodeURIComponent(task.value);
    fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.json(); })
      .then(function (body) {
        if (mine !== requestNo) return;
        checking.hidden = true;
        lastCheck = body;
        showCheck();
      })
      .catch(function () { if (mine === requestNo) checking.hidden = true; });
  }

  function budget() {
    var chosen = form.querySelector("input[name=budget]:checked");
    document.getElementById("custom-budget").hidden = !(chosen && chosen.value === "custom");
    form.querySelectorAll(".choice-card").forEach(function (card) {
      card.classList.toggle("selected", card.querySelector("input").checked);
    });
  }

  // The pre-flight estimate: how many models the budget gives on this table, and whether it is enough.
  var estimateNo = 0;
  var budgets = {quick: 60, better: 300};

  function number(id) {
    var v = (document.getElementById(id) || {}).value;
    return v ? Number(v) : null;
  }

  function estimateBody() {
    var chosen = form.querySelector("input[name=budget]:checked");
    var body = {dataset: Number(form.dataset.dataset), target: target.value, task: task.value};
    if (chosen && budgets[chosen.value]) {
      body.max_runtime_secs = budgets[chosen.value];
    } else {
      body.max_runtime_secs = number("id_max_runtime_secs");
      body.max_models = number("id_max_models");
    }
    var folds = number("id_nfolds");
    if (folds !== null) body.nfolds = folds;
    var columns = columnChoice();
    if (columns.ignore_columns.length) body.ignore_columns = columns.ignore_columns;
    if (columns.keep_columns.length) body.keep_columns = columns.keep_columns;
    return body;
  }

  // The column checkboxes as the API's settings: usual columns unticked are left out, IDs ticked are kept.
  function columnChoice() {
    var out = {ignore_columns: [], keep_columns: []};
    form.querySelectorAll("#column-choice label.column-choice").forEach(function (label) {
      var box = label.querySelector("input");
      if (box.disabled || label.dataset.column === target.value) return;
      var setAside = label.classList.contains("set-aside");
      if (!setAside && !box.checked) out.ignore_columns.push(label.dataset.column);
      if (setAside && box.checked) out.keep_columns.push(label.dataset.column);
    });
    return out;
  }

  // The column to predict is not one to learn from: its box is shown greyed, with a word why.
  function markTarget() {
    form.querySelectorAll("#column-choice label.column-choice").forEach(function (label) {
      var isTarget = label.dataset.column === target.value;
      var box = label.querySelector("input");
      label.classList.toggle("is-target", isTarget);
      label.querySelector(".target-mark").hidden = !isTarget;
      box.disabled = isTarget || label.hasAttribute("data-constant");
    });
  }

  function plural(n, word) { return n + " " + word + (n === 1 ? "" : "s"); }

  function seconds(s) { return s < 120 ? Math.round(s) + " s" : Math.round(s / 60) + " minutes"; }

  function showEstimate(e) {
    var box = document.getElementById("estimate");
    var text = "Expected: about " + plural(e.expected_models, "model") +
      (e.expected_ensembles ? " and the stacked ensembles" : "") + ", about " + seconds(e.seconds_per_model) +
      " each, scored by " + e.validation.description + "; the first one after about " +
      seconds(e.first_model_secs) + "; memory up to about " + Math.round(e.peak_memory_mb).toLocaleString() + " MB.";
    document.getElementById("estimate-text").textContent = text;
    var warn = document.getElementById("estimate-warning");
    warn.textContent = e.warning || "";
    warn.hidden = !e.warning;
    box.hidden = false;
  }

  function estimate() {
    var mine = ++estimateNo;
    var token = form.querySelector("input[name=csrfmiddlewaretoken]");
    fetch(form.dataset.estimateUrl, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "Accept": "application/json",
                "X-CSRFToken": token ? token.value : ""},
      body: JSON.stringify(estimateBody())
    }).then(function (r) { return r.json(); })
      .then(function (e) {
        if (mine !== estimateNo) return;
        if (e.error) { document.getElementById("estimate").hidden = true; return; }
        showEstimate(e);
      })
      .catch(function () { if (mine === estimateNo) document.getElementById("estimate").hidden = true; });
  }

  function update() {
    markTarget();
    showInference();
    filterMetrics();
    check();
    estimate();
  }

  target.addEventListener("change", update);
  task.addEventListener("change", update);
  form.querySelectorAll("input[name=budget]").forEach(function (r) {
    r.addEventListener("change", function () { budget(); estimate(); });
  });
  ["id_max_runtime_secs", "id_max_models", "id_nfolds"].forEach(function (id) {
    var input = document.getElementById(id);
    if (input) input.addEventListener("change", estimate);
  });
  form.querySelectorAll("#column-choice input").forEach(function (box) {
    box.addEventListener("change", function () { showCheck(); estimate(); });
  });
  budget();
  update();
})();
