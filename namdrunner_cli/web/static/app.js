// namdrunner ui: the little the pages do in the browser. No framework, no build step.
"use strict";
(function () {
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));

  // -- theme: light / dark, remembered in this browser ------------------------------------------
  const stored = localStorage.getItem("nr-theme");
  const dark = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
  document.documentElement.dataset.theme = stored || (dark ? "dark" : "light");
  const themeButton = $("#theme");
  if (themeButton) {
    themeButton.addEventListener("click", () => {
      const next = document.documentElement.dataset.theme === "dark" ? "light" : "dark";
      document.documentElement.dataset.theme = next;
      localStorage.setItem("nr-theme", next);
      const plot = $("#energy-plot");  // the plot is drawn by the server for one theme
      if (plot && plot.src) plot.src = `${plot.dataset.src}?theme=${next}&t=${Date.now()}`;
      themed();
    });
  }
  // charts drawn by the server for one theme (the Analysis tab's): a local read, no remote command
  function themed() {
    for (const img of $$("img.themed")) img.src = `${img.dataset.src}?theme=${document.documentElement.dataset.theme}`;
  }
  themed();

  // -- a toast says what the action just done did; the address forgets it (a reload says nothing) --
  const toast = $("#toast");
  if (toast) {
    const url = new URL(window.location.href);
    url.searchParams.delete("done");
    window.history.replaceState(null, "", url.pathname + url.search + url.hash);
    const hide = () => toast.classList.add("gone");
    $(".toast-close", toast).addEventListener("click", hide);
    setTimeout(hide, 6000);
  }

  // -- the command log panel ("SSH console"): live while open - every 2 s (10 s in a hidden tab) it
  //    shows the remote commands the server ran, from the server's memory: no remote command itself.
  //    It stays at its end while you are there, and where you scrolled when you scrolled up.
  const cmdlog = $("#cmdlog");
  let cmdTimer = null;
  async function loadCommands() {
    clearTimeout(cmdTimer);
    if (!cmdlog || !cmdlog.open) return;
    const body = $("#cmdlog-body");
    const atEnd = cmdlog.scrollTop + cmdlog.clientHeight >= cmdlog.scrollHeight - 8;
    try {
      const r = await fetch(body.dataset.src, { credentials: "same-origin" });
      const html = r.ok ? await r.text() : null;  // server-rendered, escaped
      if (html !== null && html !== body.dataset.shown) {
        body.innerHTML = html;
        body.dataset.shown = html;
        if (atEnd) cmdlog.scrollTop = cmdlog.scrollHeight;
      }
    } finally {
      cmdTimer = setTimeout(loadCommands, document.hidden ? 10000 : 2000);
    }
  }
  if (cmdlog) cmdlog.addEventListener("toggle", loadCommands);

  // -- a Restart / Run again refused: the page comes back at its form, the first mistake's box focused --
  const againError = $("form.again .field-error");
  if (againError) {
    const box = $(`form.again [name="${CSS.escape(againError.dataset.field || "")}"]`);
    (box || againError).scrollIntoView({ block: "center" });
    if (box) box.focus({ preventScroll: true });
  }

  // -- confirmations that name what will be removed ---------------------------------------------
  //    (one listener for the whole page: forms that a live update put in place are covered too)
  document.addEventListener("submit", (ev) => {
    const form = ev.target;
    // the button pressed may ask its own question (Run again, in the Restart form)
    const ask = (ev.submitter && ev.submitter.dataset.confirm) || (form instanceof HTMLFormElement && form.dataset.confirm);
    if (!(form instanceof HTMLFormElement) || !ask) return;
    if (!window.confirm(ask)) { ev.preventDefault(); return; }
    const field = $('input[name="confirm"]', form);
    if (field && form.dataset.confirmId) field.value = form.dataset.confirmId;
  });

  // -- bulk cancel / delete: the confirmation names every job it touches ------------------------
  const bulk = $("#bulk");
  if (bulk) {
    let pressed = null;
    $$("button[name=action]", bulk).forEach((b) => b.addEventListener("click", () => { pressed = b.value; }));
    bulk.addEventListener("submit", (ev) => {
      const picked = $$('input[name="job"][form="bulk"]:checked');
      if (!picked.length) { ev.preventDefault(); window.alert("Select jobs first."); return; }
      const names = picked.map((c) => `${c.value} (${c.dataset.name})`).join("\n");
      const what = pressed === "delete"
        ? `Delete these ${picked.length} job(s), their local records and their project and scratch directories?\n${names}`
        : `Cancel these ${picked.length} job(s)?\n${names}`;
      if (!window.confirm(what)) { ev.preventDefault(); return; }
      $('input[name="confirm"]', bulk).value = picked.map((c) => c.value).join(",");
    });
  }

  // -- sync: one at a time, within the SERVER's polling budget (one remote command per 10 s on
  //    average whatever the tabs; it says when to come back), backing off while nothing changes ----
  const MIN_DELAY = 10000, MAX_DELAY = 120000;
  let delay = MIN_DELAY, timer = null, inFlight = false;
  const status = $("#sync-status");
  async function syncOnce(manual) {
    if (inFlight) return null;
    inFlight = true;
    if (status) status.textContent = "syncing...";
    try {
      const r = await fetch(manual ? "/sync?manual=1" : "/sync", { method: "POST", credentials: "same-origin",
        headers: { "X-CSRF-Token": csrf, "Accept": "application/json" } });
      const data = await r.json();
      if (r.status === 409) {
        if (status) status.textContent = data.busy;
        return { changed: [], busy: true, retry: parseFloat(r.headers.get("Retry-After") || "2") * 1000 };
      }
      if (r.status === 401 && data.login) { window.location.assign(data.login + "?next=" + encodeURIComponent(window.location.pathname)); return { changed: [], error: true }; }
      if (!r.ok) { if (status) status.textContent = data.error || "sync failed"; return { changed: [], error: true }; }
      if (status) status.textContent = `synced ${new Date().toLocaleTimeString()}: ${data.checked} checked, ${data.changed.length} changed`;
      const last = $("#last-synced");
      if (last) last.textContent = `last synced ${new Date().toLocaleTimeString()}`;
      return data;
    } catch (e) {
      if (status) status.textContent = "sync failed: " + e;
      return { changed: [], error: true };
    } finally {
      inFlight = false;
      loadCommands();
    }
  }

  const table = $("#jobs-table");
  async function refreshTable() {
    if (!table) return 0;
    const r = await fetch(table.dataset.src, { credentials: "same-origin" });
    if (!r.ok) return 0;
    const open = $$("details.group[open]", table).map((d) => d.dataset.group);
    table.innerHTML = await r.text(); // server-rendered, escaped
    open.forEach((id) => { const d = $(`details.group[data-group="${CSS.escape(id)}"]`, table); if (d) d.open = true; });
    const active = parseInt(r.headers.get("X-Active-Jobs") || "0", 10);
    table.dataset.active = String(active);
    return active;
  }

  const jobPanel = $("#job");
  // the live part of a job page (status, progress, facts, actions) replaced in place: no reload while
  // the job runs, the page and the log box stay where the person scrolled
  async function refreshJob() {
    const live = $("#job-live");
    if (!live) return;
    const r = await fetch(live.dataset.src, { credentials: "same-origin" });
    if (!r.ok) return;
    live.innerHTML = await r.text(); // server-rendered, escaped
    const marker = $("[data-status]", live);
    if (!marker) return;
    jobPanel.dataset.active = marker.dataset.active;
    const was = jobPanel.dataset.status, now = marker.dataset.status;
    if (now === was) return;
    jobPanel.dataset.status = now;
    const badge = $("#job-status");
    if (badge) { badge.textContent = now; badge.className = `badge ${now.toLowerCase()}`; }
    // it ended (a campaign: reached its target, or needs you): tell the person if they allowed it
    if (marker.dataset.active !== "1") {
      tell(`namdrunner: ${marker.dataset.name || "job"} ${now}`, marker.dataset.tell || now);
      // once, the whole page (its outputs, Slurm's output, the final plot); never while it runs
      window.location.reload();
    }
  }
  // a browser notification, where the person allowed them (asked once, on a click: "Notify me")
  function tell(title, body) {
    if (!("Notification" in window) || Notification.permission !== "granted") return;
    try { new Notification(title, { body }); } catch (e) { /* a browser without page notifications */ }
  }
  const notifyButton = $("#notify-me");
  if (notifyButton && "Notification" in window && Notification.permission === "default") {
    notifyButton.hidden = false;
    notifyButton.addEventListener("click", async () => {
      await Notification.requestPermission();
      notifyButton.hidden = true;
    });
  }
  function activeCount() {
    if (table) return parseInt(table.dataset.active || "0", 10);
    if (jobPanel) return parseInt(jobPanel.dataset.active || "0", 10);
    return 0;
  }

  function schedule(ms) {
    clearTimeout(timer);
    if (activeCount() > 0) timer = setTimeout(tick, ms);
  }
  async function tick() {
    const data = await syncOnce();
    if (data === null) { schedule(delay); return; }
    if (data.busy) { schedule(Math.max(data.retry, delay)); return; }
    const changed = (data.changed || []).length > 0;
    if (jobPanel && (data.changed || []).includes(jobPanel.dataset.job)) { await refreshJob(); }
    if (table) await refreshTable();
    delay = changed ? MIN_DELAY : Math.min(delay * 2, MAX_DELAY);
    schedule(delay);
  }
  const syncNow = $("#sync-now");
  if (syncNow) {
    syncNow.addEventListener("click", async () => {
      const data = await syncOnce(true);
      if (data && !data.busy) { await refreshTable(); delay = MIN_DELAY; schedule(delay); }
    });
  }
  schedule(MIN_DELAY);

  // -- tabs: one panel at a time, chosen by the address's #fragment ----------------------------
  const tabs = $$(".tabs a");
  function showTab() {
    const want = (window.location.hash || "#overview").slice(1);
    $$(".panel").forEach((p) => { p.hidden = p.id !== want; });
    tabs.forEach((a) => a.classList.toggle("on", a.getAttribute("href") === "#" + want));
  }
  if (tabs.length) { window.addEventListener("hashchange", showTab); showTab(); }

  // -- resource presets (the profile's [[presets]]): a click fills the resource fields ------------
  $$("button.preset").forEach((b) => b.addEventListener("click", () => {
    const form = b.closest("form");
    for (const key of ["cores", "memory_gb", "walltime", "partition", "qos", "gpus"]) {
      const field = form.elements.namedItem(key);
      if (field) field.value = b.dataset[key];
    }
    $$("button.preset", form).forEach((x) => x.classList.toggle("on", x === b));
  }));

  // -- the template picker opens the chosen template's form -------------------------------------
  const picker = $("#template-picker");
  if (picker) picker.addEventListener("change", () => { if (picker.value) picker.form.submit(); });

  // -- the job page: logs and energy plot, followed while the job runs --------------------------
  //    The NAMD log follows like `tail -f` while the person is at its bottom and stays put when they
  //    scrolled up; refreshes are the page's own (auto=1): the server serves every tab one cached
  //    copy and reads again only within its polling budget.
  if (jobPanel) {
    const id = jobPanel.dataset.job;
    let logDelay = MIN_DELAY, first = true;
    async function loadLog(pre, auto, refresh) {
      const extra = (auto ? "&auto=1" : "") + (refresh ? "&refresh=1" : "");
      const r = await fetch(`/jobs/${encodeURIComponent(id)}/logs?kind=${pre.dataset.log}${extra}`,
        { credentials: "same-origin", headers: { "Accept": "application/json" } });
      if (r.status === 401) { window.location.assign("/login?next=" + encodeURIComponent(window.location.pathname)); return false; }
      const text = r.ok ? await r.text() : `(${r.status}: ${(await r.json().catch(() => ({}))).error || "failed"})`;
      if (text === pre.textContent) return false;
      const atBottom = pre.scrollHeight - pre.scrollTop - pre.clientHeight < 24;
      pre.textContent = text.trim() ? text : "(empty so far)";
      if (atBottom || pre.dataset.loaded !== "1") pre.scrollTop = pre.scrollHeight;
      pre.dataset.loaded = "1";
      return true;
    }
    const reload = $("#logs-reload");  // a person's click: read the cluster again, past the cache
    if (reload) {
      reload.addEventListener("click", async () => {
        reload.disabled = true;
        for (const pre of $$("pre[data-log]")) { pre.dataset.loaded = ""; await loadLog(pre, false, true); }
        reload.disabled = false;
      });
    }
    async function loadLogs() {
      let changed = false;
      for (const pre of $$("pre[data-log]")) {
        // Slurm's output once (and again when the job ended); the NAMD log while the job runs
        if (pre.dataset.log === "slurm" && !first) continue;
        changed = (await loadLog(pre, !first)) || changed;
      }
      const img = $("#energy-plot");
      if (img && (first || changed)) img.src = `${img.dataset.src}?theme=${document.documentElement.dataset.theme}${first ? "" : "&auto=1"}&t=${Date.now()}`;
      first = false;
      // asking the server costs the cluster nothing: it answers from one shared copy, and reads the
      // cluster again only within its budget - so the page asks every 10 s while the job runs
      if (activeCount() > 0) setTimeout(loadLogs, logDelay);
    }
    loadLogs();
  }

  // -- "Download all": the bytes arriving from the cluster, shown each second while a fetch runs
  //    (a local read: the server counts them, no remote command) -----------------------------------
  const fetches = $("#fetches");
  async function followFetches() {
    if (!$('[data-state="running"]', fetches)) return;
    const r = await fetch(fetches.dataset.src, { credentials: "same-origin" });
    if (r.ok) fetches.innerHTML = await r.text(); // server-rendered, escaped
    setTimeout(followFetches, 1000);
  }
  if (fetches) setTimeout(followFetches, 1000);

  // -- creating a job: its uploads to the cluster, followed each second; the job's page when it exists
  const creating = $("#creating");
  async function followCreating() {
    const r = await fetch(creating.dataset.src, { credentials: "same-origin", headers: { "Accept": "application/json" } });
    if (!r.ok) { setTimeout(followCreating, 2000); return; }
    const t = await r.json();
    if (t.state === "ready") { window.location.assign(t.next); return; }
    const bar = $("#create-progress"), text = $("#create-status");
    if (t.state === "failed") {
      bar.hidden = true; text.textContent = "";
      $("#create-error").textContent = "Not created: " + t.error;
      $("#create-error").hidden = false; $("#create-back").hidden = false;
      return;
    }
    if (t.total) {
      bar.value = t.percent;
      text.textContent = `${(t.done / 1048576).toFixed(1)} of ${(t.total / 1048576).toFixed(1)} MiB to the cluster (${t.percent} %)`;
    }
    setTimeout(followCreating, 1000);
  }
  if (creating && creating.dataset.state === "running") setTimeout(followCreating, 300);

  // -- a bulk delete running in the background: how many are deleted, each second; the table when done
  const bulkProgress = $("#bulk-progress");
  async function followBulk() {
    const r = await fetch(bulkProgress.dataset.src, { credentials: "same-origin", headers: { "Accept": "application/json" } });
    if (!r.ok) { setTimeout(followBulk, 2000); return; }
    const t = await r.json();
    bulkProgress.textContent = t.said;
    if (t.state === "ready") { window.location.assign("/?done=jobs-deleted"); return; }
    if (t.state === "failed") { window.location.reload(); return; }  // the table as it is now, and why
    setTimeout(followBulk, 1000);
  }
  if (bulkProgress && bulkProgress.dataset.state === "running") setTimeout(followBulk, 300);

  // -- the login page: follows the login running on the server, one question at a time ---------
  const login = $("#login");
  if (login && login.dataset.running === "1") {
    const asked = login.dataset.asked;
    const poll = async () => {
      const r = await fetch("/login/state", { credentials: "same-origin" });
      const s = await r.json();
      if (s.logged_in) { window.location.assign(login.dataset.next || "/"); return; }
      if (String(s.asked) !== asked || !s.running) { window.location.reload(); return; }
      setTimeout(poll, 1000);
    };
    setTimeout(poll, 1000); // with a question shown too: it may time out, or the login move on
  }

  // -- the create form: uploads with a progress bar --------------------------------------------
  $$("#create-form, form.upload-form").forEach((form) => {
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const bar = $("#upload-progress", form), text = $("#upload-status", form);
      const xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.setRequestHeader("X-CSRF-Token", csrf);
      bar.hidden = false;
      xhr.upload.addEventListener("progress", (e) => {
        if (e.lengthComputable) {
          bar.value = (100 * e.loaded) / e.total;
          text.textContent = `uploading ${Math.round(bar.value)} %`;
        }
      });
      xhr.addEventListener("load", () => {
        // the server answered with a redirect (followed by the XHR): open that page
        window.location.assign(xhr.responseURL);
      });
      xhr.addEventListener("error", () => { text.textContent = "upload failed"; });
      xhr.send(new FormData(form));
    });
  });
})();
