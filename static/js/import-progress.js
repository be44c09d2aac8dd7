/* Live progress of an import job (/staff/imports/<id>): polls its JSON every 1.5 s and updates
 * the figures (an aria-live region) until the job is finished, then reloads the page for the
 * report. Without JavaScript the page has a "Refresh" link instead. */
(function () {
  "use strict";
  var section = document.getElementById("import-progress");
  if (!section || !window.fetch) { return; }
  var bar = document.getElementById("import-bar");
  var fields = {};
  section.querySelectorAll("[data-key]").forEach(function (node) { fields[node.dataset.key] = node; });

  function timeLeft(seconds) {
    if (seconds === null || seconds === undefined) { return "—"; }
    if (seconds >= 60) { return section.dataset.left.replace("{minutes}", Math.floor(seconds / 60)); }
    return section.dataset.leftSeconds.replace("{seconds}", seconds);
  }

  function set(key, value) {
    if (fields[key] && fields[key].textContent !== String(value)) { fields[key].textContent = value; }
  }

  function poll() {
    fetch(section.dataset.url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (state) {
        if (!state) { window.setTimeout(poll, 5000); return; }
        if (state.finished) { window.location.reload(); return; }
        bar.value = state.percent;
        set("lines_done", state.lines_done);
        set("lines_total", state.lines_total);
        set("files_total", state.files_total);
        set("refused", state.refused);
        set("time_left", timeLeft(state.seconds_left));
        section.dataset.status = state.status;
        window.setTimeout(poll, 1500);
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 1000);
}());
