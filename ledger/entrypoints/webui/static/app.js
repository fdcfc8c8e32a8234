// Handshake Ledger's UI: the time slider re-renders the page's view as of the instant it points at
// (or one event back or on), and Chart.js draws the analytics from the JSON each canvas carries.
// No framework, nothing from elsewhere: the server renders every page; this only swaps them in.
"use strict";

(() => {
  const MOMENT_PARAMS = ["at", "position", "after", "before"];
  let wanted = null; // the latest view asked for: older ones are skipped while one is in flight
  let busy = false;

  const $ = (id) => document.getElementById(id);

  function momentUrl(change) {
    const url = new URL(window.location.href);
    for (const name of MOMENT_PARAMS) url.searchParams.delete(name);
    for (const [name, value] of Object.entries(change)) url.searchParams.set(name, value);
    return url.pathname + (url.search || "");
  }

  function showMoment(moment) {
    $("moment-label").textContent = moment.label;
    $("instant").value = moment.epoch;
    for (const [id, href] of [["step-back", moment.back], ["step-on", moment.on]]) {
      $(id).setAttribute("href", href);
      $(id).setAttribute("aria-disabled", href ? "false" : "true");
    }
    // the header's links and search keep the moment, as the server writes them on a full page
    const params = new URL(window.location.href).searchParams;
    for (const link of document.querySelectorAll("a[data-moment]")) {
      const url = new URL(link.href);
      for (const name of ["at", "position"]) {
        if (params.has(name)) url.searchParams.set(name, params.get(name));
        else url.searchParams.delete(name);
      }
      link.href = url.pathname + url.search;
    }
  }

  async function pump() {
    busy = true;
    while (wanted) {
      const url = wanted;
      wanted = null;
      const started = performance.now();
      const response = await fetch(url, { headers: { "X-Fragment": "view" } });
      if (!response.ok) {
        window.location.assign(url); // the page says what was wrong
        return;
      }
      const html = await response.text();
      const view = $("view");
      destroyCharts(view);
      view.innerHTML = html;
      history.replaceState(null, "", url);
      const moment = response.headers.get("X-Moment");
      view.dataset.moment = moment;
      showMoment(JSON.parse(moment));
      drawCharts(view);
      view.dataset.stepMs = (performance.now() - started).toFixed(1);
    }
    busy = false;
  }

  function go(url) {
    wanted = url;
    if (!busy) pump().catch(() => window.location.assign(url));
  }

  function destroyCharts(root) {
    if (!window.Chart) return;
    for (const canvas of root.querySelectorAll("canvas[data-chart]")) {
      const chart = window.Chart.getChart(canvas);
      if (chart) chart.destroy();
    }
  }

  function drawCharts(root) {
    if (!window.Chart) return;
    for (const canvas of root.querySelectorAll("canvas[data-chart]")) {
      const spec = JSON.parse(canvas.dataset.chart);
      new window.Chart(canvas, {
        type: "bar",
        data: {
          labels: spec.labels,
          datasets: spec.datasets.map((d) => ({
            label: d.label, data: d.data, type: d.type || "bar", stack: d.stack || d.label,
            backgroundColor: d.color, borderColor: d.color, order: d.type === "line" ? 0 : 1,
          })),
        },
        options: {
          animation: false, responsive: true, maintainAspectRatio: false,
          scales: {
            x: { stacked: spec.stacked },
            y: { stacked: spec.stacked, beginAtZero: true, title: { display: true, text: spec.y } },
          },
          plugins: { legend: { position: "bottom" } },
        },
      });
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    const slider = $("instant");
    if (slider) {
      slider.addEventListener("input", () => {
        go(momentUrl({ at: new Date(Number(slider.value) * 1000).toISOString() }));
      });
      for (const id of ["step-back", "step-on"]) {
        $(id).addEventListener("click", (event) => {
          event.preventDefault();
          const href = $(id).getAttribute("href");
          if (href) go(href);
        });
      }
      document.addEventListener("keydown", (event) => {
        if (event.target.closest("input, select, textarea")) return;
        if (event.key === "[" || event.key === "]") $(event.key === "[" ? "step-back" : "step-on").click();
      });
    }
    drawCharts(document);
  });
})();
