// One model's charts (importance, residuals or confusion matrix / ROC / PR, SHAP) and partial
// dependence with a column picker. The payload comes from .../models/<id>/charts.json.
(function () {
  "use strict";

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }

  function slot(parent) {
    var div = el("div", null, "chart-slot");
    parent.appendChild(div);
    return div;
  }

  function pdpSection(container, payload) {
    var section = el("section", null, "pdp");
    section.appendChild(el("h3", "Effect of one column"));
    var label = el("label", "Column ");
    var select = el("select");
    select.id = "pdp-feature";
    select.setAttribute("aria-label", "Column for partial dependence");
    payload.pdp_features.forEach(function (f) {
      var option = el("option", f);
      option.value = f;
      select.appendChild(option);
    });
    label.appendChild(select);
    section.appendChild(label);
    var status = el("p", "", "muted pdp-status");
    section.appendChild(status);
    var holder = slot(section);
    var cache = Object.assign({}, payload.pdp);

    function show(feature) {
      status.textContent = "";
      if (cache[feature]) {
        window.AutoMLCharts.draw(holder, cache[feature], false);
        return;
      }
      status.textContent = "Computing the effect of " + feature + "…";
      fetch(payload.pdp_url + "?feature=" + encodeURIComponent(feature), {credentials: "same-origin"})
        .then(function (r) { return r.json().then(function (b) { return {ok: r.ok, body: b}; }); })
        .then(function (res) {
          if (select.value !== feature) return;
          if (!res.ok) { status.textContent = res.body.error || "That could not be computed."; return; }
          cache[feature] = res.body.chart;
          status.textContent = "";
          window.AutoMLCharts.draw(holder, res.body.chart, false);
        })
        .catch(function () { status.textContent = "That could not be computed; try again."; });
    }

    select.addEventListener("change", function () { show(select.value); });
    container.appendChild(section);  // in the page before drawing, so Plotly can measure its width
    var first = payload.pdp_default || payload.pdp_features[0];
    if (first) {
      select.value = first;
      show(first);
    }
  }

  function render(container, payload) {
    container.replaceChildren();
    container.dataset.modelId = payload.model_id;
    var head = el("div", null, "model-charts-head");
    var title = el("h3");
    var link = el("a", payload.model_id);
    link.href = payload.url;
    title.appendChild(link);
    title.appendChild(el("span", " · " + payload.algo_name, "muted"));
    head.appendChild(title);
    if (payload.sentences && payload.sentences.length) head.appendChild(el("p", payload.sentences.join(" ")));
    if (!container.hasAttribute("data-no-head")) container.appendChild(head);
    if (payload.note) container.appendChild(el("p", payload.note, "notice"));
    var grid = el("div", null, "chart-grid");
    container.appendChild(grid);
    payload.charts.forEach(function (chart) { window.AutoMLCharts.draw(slot(grid), chart, true); });
    if (payload.pdp_features && payload.pdp_features.length) pdpSection(container, payload);
  }

  function load(container, url) {
    container.setAttribute("aria-busy", "true");
    var note = el("p", "Loading the charts (the first time a model is opened they are computed: a few seconds)…", "muted");
    container.replaceChildren(note);
    return fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (payload) { render(container, payload); })
      .catch(function () { note.textContent = "The charts could not be loaded; reload the page to try again."; })
      .finally(function () { container.removeAttribute("aria-busy"); });
  }

  window.AutoMLModelCharts = {render: render, load: load};
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-model-charts-source]").forEach(function (container) {
      var source = document.getElementById(container.dataset.modelChartsSource);
      if (source) render(container, JSON.parse(source.textContent));
    });
  });
})();
