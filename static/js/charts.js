// Draws the chart dicts built by webapp/core/charts.py with Plotly (served by the app, no CDN).
// A chart is {key, help, data, layout}; each goes in a <figure> with its one-line help below.
(function () {
  "use strict";
  var CONFIG = {responsive: true, displaylogo: false,
                modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d", "toggleSpikelines"]};
  var observer = null;

  // Plotly never wraps titles: on a narrow screen, break long ones into lines at spaces.
  function wrap(text, maxChars) {
    if (!text || text.length <= maxChars || text.indexOf("<br>") >= 0) return text;
    var lines = [], line = "";
    text.split(" ").forEach(function (word) {
      if (line && (line + " " + word).length > maxChars) { lines.push(line); line = word; }
      else line = line ? line + " " + word : word;
    });
    if (line) lines.push(line);
    return lines.join("<br>");
  }

  function fitted(layout, width) {
    var out = JSON.parse(JSON.stringify(layout));
    var chars = Math.max(18, Math.floor(width / 7.5));
    if (out.title && out.title.text) {
      out.title.text = wrap(out.title.text, chars);
      var extra = (out.title.text.match(/<br>/g) || []).length;
      if (extra && out.margin) out.margin.t = (out.margin.t || 48) + 16 * extra;
    }
    // Axis titles sit over the plot area, narrower than the figure: wrap them shorter, in a smaller font.
    if (out.xaxis && out.xaxis.title) {
      out.xaxis.title.text = wrap(out.xaxis.title.text, Math.max(16, Math.floor(width / 11)));
      out.xaxis.title.font = {size: 11};
      if (out.xaxis.title.text.indexOf("<br>") >= 0 && out.showlegend && out.legend) out.legend.y = -0.34;
    }
    if (out.yaxis && out.yaxis.title) out.yaxis.title.font = {size: 11};
    if (out.xaxis && out.xaxis.type !== "category") out.xaxis.nticks = 5;
    // Many ticks on a log axis crowd a phone: the powers of ten alone keep their labels, when two or more.
    var ticks = out.xaxis && out.xaxis.type === "log" && out.xaxis.tickvals;
    if (ticks && ticks.length > 6) {
      var keep = ticks.map(function (v) { var p = Math.log10(v); return Math.abs(p - Math.round(p)) < 1e-9; });
      if (keep.filter(Boolean).length >= 2) {
        out.xaxis.tickvals = ticks.filter(function (v, i) { return keep[i]; });
        out.xaxis.ticktext = out.xaxis.ticktext.filter(function (v, i) { return keep[i]; });
      }
    }
    return out;
  }

  function plot(target, chart) {
    if (!window.Plotly) {
      target.textContent = "The chart library did not load; reload the page.";
      return;
    }
    var width = target.clientWidth || 600;
    var narrow = width < 560;
    var data = chart.data;
    if (narrow) {  // colour bar titles take room a phone does not have; "low" and "high" stay
      data = JSON.parse(JSON.stringify(chart.data));
      data.forEach(function (t) {
        var bar = (t.marker && t.marker.colorbar) || t.colorbar;
        if (bar && bar.title) bar.title.text = "";
        if (t.meta && t.meta.narrow_text) t.text = t.meta.narrow_text;  // fewer names where they would overlap
      });
    }
    window.Plotly.newPlot(target, data, narrow ? fitted(chart.layout, width) : chart.layout, CONFIG);
  }

  // Charts far below the fold are drawn when they come near the screen (pages can hold dozens).
  function whenVisible(target, chart) {
    if (!("IntersectionObserver" in window)) return plot(target, chart);
    if (!observer) {
      observer = new IntersectionObserver(function (entries) {
        entries.forEach(function (entry) {
          if (!entry.isIntersecting) return;
          observer.unobserve(entry.target);
          plot(entry.target, entry.target._chart);
        });
      }, {rootMargin: "400px 0px"});
    }
    target._chart = chart;
    target.style.minHeight = (chart.layout && chart.layout.height ? chart.layout.height : 300) + "px";
    observer.observe(target);
  }

  // Put a chart into `holder` (emptied first): a figure with the plot and its help line.
  function draw(holder, chart, lazy) {
    var figure = document.createElement("figure");
    figure.className = "chart";
    figure.dataset.chart = chart.key;
    var target = document.createElement("div");
    target.className = "plot";
    var caption = document.createElement("figcaption");
    caption.textContent = chart.help;
    figure.appendChild(target);
    figure.appendChild(caption);
    holder.replaceChildren(figure);
    if (lazy) whenVisible(target, chart); else plot(target, chart);
    return figure;
  }

  // Every [data-chart-source] element inside root gets the chart held in the JSON script it names.
  function drawAll(root, lazy) {
    (root || document).querySelectorAll("[data-chart-source]").forEach(function (holder) {
      var source = document.getElementById(holder.dataset.chartSource);
      if (!source || holder.dataset.drawn) return;
      holder.dataset.drawn = "1";
      draw(holder, JSON.parse(source.textContent), lazy !== false);
    });
  }

  window.AutoMLCharts = {draw: draw, drawAll: drawAll};
  document.addEventListener("DOMContentLoaded", function () { drawAll(document, true); });
})();
