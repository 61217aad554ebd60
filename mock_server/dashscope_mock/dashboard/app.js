// The mock's dashboard: reads the control plane's event stream (GET /_mock/events) and writes through its documented
// endpoints, nothing else. Vanilla ES2020, no build step; every text reaches the DOM through textContent.
"use strict";

(() => {
  const API = "/_mock";
  const TOKEN_KEY = "dashscope-mock.control-token";
  const JOURNAL_MAX_ROWS = 1000;
  const RECONNECT_MS = 1000;
  // A stream sends its start-up state in one burst: once it paused this long, the burst is over.
  const SNAPSHOT_QUIET_MS = 300;
  const UNITS = { "": 1, s: 1, m: 60, h: 3600, d: 86400 };
  const KNOWN_STATUSES = [
    "PENDING", "PRE-PROCESSING", "RUNNING", "POST-PROCESSING", "SUCCEEDED", "FAILED", "CANCELED", "UNKNOWN",
  ];

  const $ = (id) => document.getElementById(id);

  const state = {
    tasks: new Map(), // task_id -> MockTask list item
    openTaskId: null,
    openTaskSignature: null,
    detailRequest: 0, // ignores a late answer for a task no longer open
    journalSeqs: new Map(), // seq -> row
    journalStick: true, // the journal follows new rows while scrolled to its end
    catalogue: null,
    tokenWaiters: [],
    streamAbort: null, // ends the open event stream (the page is leaving, or entering the back/forward cache)
  };

  // ---------------------------------------------------------------------------------------------------- helpers

  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    if (props) {
      for (const [name, value] of Object.entries(props)) {
        if (value === undefined || value === null) continue;
        if (name === "className") node.className = value;
        else if (name === "text") node.textContent = String(value);
        else if (name === "dataset") Object.assign(node.dataset, value);
        else node.setAttribute(name, String(value));
      }
    }
    for (const child of children) {
      if (child !== null && child !== undefined) node.append(child);
    }
    return node;
  }

  function text(value) {
    return value === undefined || value === null ? "" : String(value);
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  /** "90" -> 90, "90m" -> 5400, "1h30m" -> 5400, "2.5 d" -> 216000; null when not understood. */
  function parseDuration(input) {
    const value = input.trim().toLowerCase();
    if (!/^(\d+(\.\d+)?|\.\d+)\s*[smhd]?(\s*(\d+(\.\d+)?|\.\d+)\s*[smhd]?)*$/.test(value)) return null;
    let seconds = 0;
    for (const [, number, unit] of value.matchAll(/(\d+(?:\.\d+)?|\.\d+)\s*([smhd]?)/g)) {
      seconds += parseFloat(number) * UNITS[unit];
    }
    return Number.isFinite(seconds) ? seconds : null;
  }

  // ---------------------------------------------------------------------------------------------------- messages

  function showMessage(line, kind = "error") {
    const box = $("message");
    box.textContent = line;
    box.dataset.kind = kind;
  }

  function clearMessage() {
    const box = $("message");
    box.textContent = "";
    delete box.dataset.kind;
  }

  function setConnection(stateName, label) {
    const node = $("connection");
    node.dataset.state = stateName;
    node.textContent = label;
  }

  // ---------------------------------------------------------------------------------------------------- token

  function storedToken() {
    try {
      return sessionStorage.getItem(TOKEN_KEY) || "";
    } catch (_) {
      return "";
    }
  }

  function authHeaders() {
    const token = storedToken();
    return token ? { Authorization: `Bearer ${token}` } : {};
  }

  /** Shows the token form; resolves once a token was saved. */
  function waitForToken() {
    const form = $("token-form");
    if (form.hidden) {
      form.hidden = false;
      setConnection("token", "token needed");
      $("token").focus();
    }
    return new Promise((resolve) => state.tokenWaiters.push(resolve));
  }

  function saveToken(event) {
    event.preventDefault();
    const value = $("token").value.trim();
    if (!value) return;
    try {
      sessionStorage.setItem(TOKEN_KEY, value);
    } catch (_) {
      showMessage("The browser refused to store the token (sessionStorage).");
      return;
    }
    $("token").value = "";
    $("token-form").hidden = true;
    clearMessage();
    const waiters = state.tokenWaiters.splice(0);
    for (const resolve of waiters) resolve();
  }

  // ---------------------------------------------------------------------------------------------------- API

  class ApiFailure extends Error {
    constructor(code, message, status) {
      super(`${code}: ${message}`);
      this.code = code;
      this.status = status;
    }
  }

  /** One control-plane call. A 401 asks for the token and retries; another error shows `CODE: message`. */
  async function api(method, path, body) {
    for (;;) {
      const init = { method, headers: { Accept: "application/json", ...authHeaders() } };
      if (body !== undefined) {
        init.headers["Content-Type"] = "application/json";
        init.body = JSON.stringify(body);
      }
      let answer;
      try {
        answer = await fetch(API + path, init);
      } catch (error) {
        const failure = new ApiFailure("NetworkError", `${method} ${API}${path} failed: ${error.message}`, 0);
        showMessage(failure.message);
        throw failure;
      }
      if (answer.status === 401) {
        await waitForToken();
        continue;
      }
      let payload = null;
      try {
        payload = await answer.json();
      } catch (_) {
        payload = null;
      }
      if (!answer.ok) {
        const code = (payload && payload.code) || `HTTP ${answer.status}`;
        const message = (payload && payload.message) || answer.statusText || "request failed";
        const failure = new ApiFailure(code, message, answer.status);
        showMessage(failure.message);
        throw failure;
      }
      if (method !== "GET") clearMessage();
      return payload;
    }
  }

  /** Runs a write from a button; its failure is already shown in #message. */
  function act(work) {
    work().catch((error) => {
      if (!(error instanceof ApiFailure)) showMessage(`Error: ${error.message}`);
    });
  }

  // ---------------------------------------------------------------------------------------------------- clock

  function renderClock(clock) {
    if (!clock) return;
    $("clock-time").textContent = text(clock.time);
    $("clock-time").title = clock.now !== undefined ? `epoch ${clock.now}` : "";
    const frozen = $("clock-frozen");
    frozen.textContent = clock.frozen ? "frozen" : "flowing";
    frozen.dataset.frozen = clock.frozen ? "true" : "false";
    const offset = Number(clock.offset_seconds || 0);
    $("clock-offset").textContent = offset ? `+${formatSeconds(offset)}` : "";
  }

  function formatSeconds(total) {
    let rest = Math.round(total * 1000) / 1000;
    const parts = [];
    for (const [unit, size] of [["d", 86400], ["h", 3600], ["m", 60]]) {
      if (rest >= size) {
        parts.push(`${Math.floor(rest / size)}${unit}`);
        rest -= Math.floor(rest / size) * size;
      }
    }
    if (rest || !parts.length) parts.push(`${Math.round(rest * 1000) / 1000}s`);
    return parts.join(" ");
  }

  function advance(seconds) {
    act(async () => renderClock(await api("POST", "/clock/advance", { seconds })));
  }

  // ---------------------------------------------------------------------------------------------------- tasks

  function taskCells(task) {
    return [
      ["task-id", task.task_id ? task.task_id.slice(0, 8) : ""],
      ["model", task.model],
      ["key", task.key],
      ["status", task.status],
      ["submit", task.submit_time],
      ["scheduled", task.scheduled_time],
      ["end", task.end_time],
      ["code", task.code],
    ];
  }

  function fillTaskRow(row, task) {
    row.dataset.status = text(task.status);
    row.dataset.model = text(task.model);
    row.dataset.key = text(task.key);
    row.dataset.submitAt = text(task.submit_at);
    row.classList.toggle("expired", Boolean(task.expired));
    row.title = task.expired ? `${task.task_id} (expired)` : text(task.task_id);
    const cells = taskCells(task);
    if (!row.cells.length) {
      for (const [name] of cells) row.append(el("td", { className: name }));
    }
    cells.forEach(([, value], index) => {
      const cell = row.cells[index];
      if (cell.textContent !== text(value)) cell.textContent = text(value);
    });
    row.cells[3].dataset.status = text(task.status);
    row.cells[7].title = text(task.message);
  }

  /** Newest first: a later submit_at comes first; equal ones by task id. */
  function comesBefore(a, b) {
    const at = Number(a.submit_at || 0);
    const bt = Number(b.submit_at || 0);
    return at !== bt ? at > bt : text(a.task_id) > text(b.task_id);
  }

  function upsertTask(task) {
    if (!task || !task.task_id) return;
    const previous = state.tasks.get(task.task_id);
    state.tasks.set(task.task_id, task);
    const body = $("tasks-body");
    let row = body.querySelector(`tr[data-task-id="${CSS.escape(task.task_id)}"]`);
    const moved = !row || !previous || Number(previous.submit_at) !== Number(task.submit_at);
    if (!row) {
      row = el("tr", { dataset: { taskId: task.task_id }, tabindex: "0" });
    }
    fillTaskRow(row, task);
    if (moved) {
      let before = null;
      for (const other of body.rows) {
        if (other === row) continue;
        const known = state.tasks.get(other.dataset.taskId);
        if (known && comesBefore(task, known)) {
          before = other;
          break;
        }
      }
      body.insertBefore(row, before);
    }
    if (state.openTaskId === task.task_id) row.classList.add("selected");
    noteOption("filter-model", task.model);
    noteOption("filter-status", task.status);
    applyTaskFilter(row);
    updateTaskCounts();
    if (state.openTaskId === task.task_id && detailSignature(task) !== state.openTaskSignature) {
      openTask(task.task_id, { keepScroll: true }); // its status (or its end, code, result) changed: refetch
    }
  }

  function removeTasks(ids, { keepDetail = false } = {}) {
    for (const id of ids || []) {
      state.tasks.delete(id);
      const row = $("tasks-body").querySelector(`tr[data-task-id="${CSS.escape(id)}"]`);
      if (row) row.remove();
      if (state.openTaskId === id && !keepDetail) closeTask();
    }
    updateTaskCounts();
  }

  function clearTasks() {
    state.tasks.clear();
    $("tasks-body").replaceChildren();
    closeTask();
    updateTaskCounts();
  }

  function applyTaskFilter(row) {
    const model = $("filter-model").value;
    const status = $("filter-status").value;
    const key = $("filter-key").value.trim().toLowerCase();
    row.hidden = Boolean(
      (model && row.dataset.model !== model) ||
        (status && row.dataset.status !== status) ||
        (key && !row.dataset.key.toLowerCase().includes(key))
    );
  }

  function applyTaskFilters() {
    for (const row of $("tasks-body").rows) applyTaskFilter(row);
    updateTaskCounts();
  }

  function updateTaskCounts() {
    const rows = $("tasks-body").rows;
    let shown = 0;
    for (const row of rows) if (!row.hidden) shown += 1;
    $("tasks-count").textContent = rows.length ? String(rows.length) : "";
    $("tasks-shown").textContent = rows.length && shown !== rows.length ? `${shown} of ${rows.length} shown` : "";
    $("tasks-empty").hidden = rows.length > 0;
  }

  /** Adds `value` to a filter select (kept sorted) the first time it is seen. */
  function noteOption(selectId, value) {
    if (!value) return;
    const select = $(selectId);
    if (Array.from(select.options).some((option) => option.value === value)) return;
    const option = el("option", { value, text: value });
    const after = Array.from(select.options).slice(1).find((other) => other.value > value);
    select.insertBefore(option, after || null);
  }

  // ---------------------------------------------------------------------------------------------------- task detail

  /** What the open detail depends on beyond its timeline: a task event that changes it refetches the detail. */
  function detailSignature(task) {
    return JSON.stringify([task.status, task.code || "", task.end_time || "", Boolean(task.result_url)]);
  }

  /** A signed link without its signature: a re-signed link to the same file keeps the playing video. */
  function unsigned(url) {
    return text(url).split("?")[0];
  }

  async function openTask(taskId, { keepScroll = false } = {}) {
    const ticket = ++state.detailRequest;
    const panel = $("task-detail");
    const changed = state.openTaskId !== taskId;
    state.openTaskId = taskId;
    for (const row of $("tasks-body").querySelectorAll("tr.selected")) row.classList.remove("selected");
    const row = $("tasks-body").querySelector(`tr[data-task-id="${CSS.escape(taskId)}"]`);
    if (row) row.classList.add("selected");
    if (changed) {
      state.openTaskSignature = null;
      panel.dataset.taskId = taskId;
      panel.hidden = false;
      panel.scrollTop = 0;
      panel.classList.add("loading");
      $("task-detail-id").textContent = taskId;
    }
    let detail;
    try {
      detail = await api("GET", `/tasks/${encodeURIComponent(taskId)}`);
    } catch (error) {
      if (ticket === state.detailRequest) panel.classList.remove("loading");
      return;
    }
    if (ticket !== state.detailRequest || state.openTaskId !== taskId) return;
    panel.classList.remove("loading");
    renderTaskDetail(detail, keepScroll);
  }

  function renderTaskDetail(detail, keepScroll) {
    const panel = $("task-detail");
    const scroll = panel.scrollTop;
    state.openTaskSignature = detailSignature(state.tasks.get(detail.task_id) || detail); // as the events show it
    panel.dataset.taskId = detail.task_id;
    panel.dataset.status = text(detail.status);
    $("task-detail-id").textContent = text(detail.task_id);

    const summary = [
      ["Status", detail.status],
      ["Model", detail.model],
      ["Key", detail.key],
      ["Submitted", detail.submit_time],
      ["Scheduled", detail.scheduled_time],
      ["Ended", detail.end_time],
      ["Code", detail.code],
      ["Video duration", detail.video_duration !== undefined ? `${detail.video_duration} s` : null],
      ["Video ratio", detail.video_ratio],
      ["Expired", detail.expired ? "yes (the public API answers UNKNOWN)" : null],
    ];
    const list = $("task-summary");
    list.replaceChildren();
    for (const [label, value] of summary) {
      if (value === undefined || value === null || value === "") continue;
      list.append(el("dt", { text: label }), el("dd", { text: value }));
    }

    const failure = $("task-failure");
    if (detail.status === "FAILED") {
      failure.textContent = `${text(detail.code)}: ${text(detail.message)}`;
      failure.hidden = false;
    } else {
      failure.textContent = "";
      failure.hidden = true;
    }

    const slot = $("task-video-slot");
    const current = $("task-video");
    if (detail.status === "SUCCEEDED" && detail.result_url) {
      if (!current || unsigned(current.getAttribute("src")) !== unsigned(detail.result_url)) {
        const video = el("video", { id: "task-video", controls: "", preload: "metadata", src: detail.result_url });
        video.addEventListener("error", () => {
          const note = $("task-video-note");
          note.textContent = "The browser cannot play this result (with --media-checks off the mock serves a " +
            "placeholder file, not a rendered video).";
          note.hidden = false;
        });
        $("task-video-note").hidden = true;
        slot.replaceChildren(video);
      }
      $("task-video-link").href = /^(https?:)?\//i.test(detail.result_url) ? detail.result_url : "#";
      $("task-result").hidden = false;
    } else {
      slot.replaceChildren();
      $("task-video-note").hidden = true;
      $("task-result").hidden = true;
    }

    const timeline = $("task-timeline");
    timeline.replaceChildren();
    for (const step of detail.timeline || []) {
      timeline.append(
        el(
          "li",
          { dataset: { status: text(step.status) }, title: step.at !== undefined ? `epoch ${step.at}` : null },
          el("span", { className: "step-status", text: step.status }),
          " ",
          el("time", { className: "step-time", text: step.time })
        )
      );
    }

    $("task-request").textContent = detail.request ? JSON.stringify(detail.request, null, 2) : "(not recorded)";
    if (keepScroll) panel.scrollTop = scroll;
  }

  function closeTask() {
    state.detailRequest += 1;
    state.openTaskId = null;
    state.openTaskSignature = null;
    const panel = $("task-detail");
    panel.hidden = true;
    delete panel.dataset.taskId;
    delete panel.dataset.status;
    $("task-video-slot").replaceChildren();
    for (const row of $("tasks-body").querySelectorAll("tr.selected")) row.classList.remove("selected");
  }

  // ---------------------------------------------------------------------------------------------------- journal

  function journalText(entry) {
    return [entry.method, entry.path, entry.query, entry.operation, entry.status, entry.request_id, entry.task_id]
      .map(text)
      .join(" ")
      .toLowerCase();
  }

  function addJournalEntry(entry) {
    if (!entry || entry.seq === undefined) return;
    const existing = state.journalSeqs.get(entry.seq);
    if (existing) {
      if (existing.dataset.requestId === text(entry.request_id) && existing.dataset.time === text(entry.time)) return;
      clearJournal(); // same number, other request: the journal started over while the stream was away
    }
    const wrap = $("journal-wrap");
    const path = entry.query ? `${entry.path}?${entry.query}` : entry.path;
    const latency = entry.duration_ms !== undefined ? `${Number(entry.duration_ms).toFixed(1)} ms` : "";
    const row = el(
      "tr",
      {
        tabindex: "0",
        dataset: {
          seq: text(entry.seq),
          operation: text(entry.operation),
          requestId: text(entry.request_id),
          time: text(entry.time),
          search: journalText(entry),
          status: text(entry.status),
        },
      },
      el("td", { className: "seq", text: entry.seq }),
      el("td", { className: "time", text: text(entry.time_text).split(" ").pop(), title: entry.time_text }),
      el("td", { className: "method", text: entry.method }),
      el("td", { className: "path", text: entry.path, title: path }),
      el("td", { className: "operation", text: entry.operation }),
      el("td", { className: "status", text: entry.status, title: entry.status === 0 ? "connection dropped" : null }),
      el("td", { className: "latency", text: latency }),
      el("td", { className: "request-id", text: entry.request_id, title: entry.note || null })
    );
    row.journalEntry = entry;
    const body = $("journal-body");
    // Entries arrive oldest first; one older than the last row (a reconnect's snapshot) goes in its place.
    let before = null;
    const last = body.lastElementChild;
    if (last && Number(last.dataset.seq) > entry.seq) {
      before = Array.from(body.rows).find((other) => Number(other.dataset.seq) > entry.seq) || null;
    }
    body.insertBefore(row, before);
    state.journalSeqs.set(entry.seq, row);
    while (body.rows.length > JOURNAL_MAX_ROWS) {
      const first = body.firstElementChild;
      state.journalSeqs.delete(Number(first.dataset.seq));
      first.remove();
    }
    noteOption("journal-operation", entry.operation);
    noteFaultOperation(entry.operation);
    applyJournalFilter(row);
    updateJournalCounts();
    if (state.journalStick) wrap.scrollTop = wrap.scrollHeight;
  }

  function clearJournal() {
    state.journalSeqs.clear();
    $("journal-body").replaceChildren();
    $("request-detail").textContent = "Click a request to see it in full.";
    updateJournalCounts();
  }

  function applyJournalFilter(row) {
    const words = $("journal-filter").value.trim().toLowerCase().split(/\s+/).filter(Boolean);
    const operation = $("journal-operation").value;
    const haystack = row.dataset.search;
    row.hidden = Boolean(
      (operation && row.dataset.operation !== operation) || words.some((word) => !haystack.includes(word))
    );
  }

  function applyJournalFilters() {
    for (const row of $("journal-body").rows) applyJournalFilter(row);
    updateJournalCounts();
  }

  function updateJournalCounts() {
    const rows = $("journal-body").rows;
    let shown = 0;
    for (const row of rows) if (!row.hidden) shown += 1;
    $("journal-count").textContent = rows.length ? String(rows.length) : "";
    $("journal-shown").textContent = rows.length && shown !== rows.length ? `${shown} of ${rows.length} shown` : "";
    $("journal-empty").hidden = rows.length > 0;
  }

  function selectJournalRow(row) {
    for (const other of $("journal-body").querySelectorAll("tr.selected")) other.classList.remove("selected");
    row.classList.add("selected");
    $("request-detail").textContent = JSON.stringify(row.journalEntry, null, 2);
  }

  // ---------------------------------------------------------------------------------------------------- scripting

  function renderScenarios(items) {
    const list = $("scenarios-list");
    list.replaceChildren();
    for (const item of items || []) {
      const what = item.code ? text(item.code) : "extra time";
      const extra = item.extra_seconds && Object.keys(item.extra_seconds).length
        ? ` +${Object.entries(item.extra_seconds).map(([k, v]) => `${k} ${v}s`).join(", ")}`
        : "";
      const filter = item.url_contains ? ` · url contains “${item.url_contains}”` : "";
      const li = el(
          "li",
          { dataset: { id: text(item.id) } },
          el("span", { className: "item-main" },
            el("strong", { className: "model", text: item.model }),
            " ",
            el("code", { className: "code", text: what + extra })),
          el("span", { className: "item-meta" },
            el("span", { className: "remaining", text: `${text(item.remaining)} of ${text(item.times)} left` }),
            item.operation ? ` · ${item.operation}` : "",
            filter),
          el("button", { type: "button", className: "remove", "aria-label": `Remove scenario ${item.id}`, text: "Remove" })
        );
      li.item = item;
      list.append(li);
    }
    $("scenarios-empty").hidden = list.children.length > 0;
    updateScriptingCount();
  }

  function renderFaults(items) {
    const list = $("faults-list");
    list.replaceChildren();
    for (const item of items || []) {
      const details = [];
      if (item.kind === "error") details.push([item.status, item.code].filter(Boolean).join(" "));
      if (item.kind === "latency") details.push(`${text(item.latency_seconds)} s`);
      if (item.method) details.push(item.method);
      if (item.path_contains) details.push(`path contains “${item.path_contains}”`);
      if (item.probability !== undefined && item.probability !== 1) details.push(`p=${item.probability}`);
      const remaining = item.remaining === null || item.remaining === undefined
        ? "every match"
        : `${item.remaining} of ${text(item.times)} left`;
      const li = el(
          "li",
          { dataset: { id: text(item.id) } },
          el("span", { className: "item-main" },
            el("strong", { className: "kind", text: item.kind }),
            " ",
            el("code", { className: "operation", text: item.operation }),
            details.filter(Boolean).length ? ` ${details.filter(Boolean).join(" · ")}` : ""),
          el("span", { className: "item-meta" },
            el("span", { className: "remaining", text: remaining }),
            ` · fired ${text(item.fired || 0)}`),
          el("button", { type: "button", className: "remove", "aria-label": `Remove fault ${item.id}`, text: "Remove" })
        );
      li.item = item;
      list.append(li);
    }
    $("faults-empty").hidden = list.children.length > 0;
    updateScriptingCount();
  }

  function updateScriptingCount() {
    const count = $("scenarios-list").children.length + $("faults-list").children.length;
    $("scripting-count").textContent = count ? String(count) : "";
  }

  function currentItems(listId) {
    return Array.from($(listId).children).map((li) => li.item).filter(Boolean);
  }

  function fillScenarioModels(catalogue) {
    const select = $("scenario-model");
    select.replaceChildren();
    const groups = [["video", "Video models"], ["detect", "Detectors"]];
    for (const [kind, label] of groups) {
      const models = (catalogue.models || []).filter((model) => model.kind === kind);
      if (!models.length) continue;
      const group = el("optgroup", { label });
      for (const model of models) group.append(el("option", { value: model.name, text: model.name }));
      select.append(group);
    }
    for (const model of catalogue.models || []) {
      if (model.kind === "video") noteOption("filter-model", model.name); // tasks are video models
    }
    fillScenarioCodes();
  }

  function fillScenarioCodes() {
    const model = $("scenario-model").value;
    const select = $("scenario-code");
    const previous = select.value;
    select.replaceChildren();
    const codes = ((state.catalogue && state.catalogue.codes) || []).filter((entry) => {
      const models = entry.models || [];
      return models.includes(model) || models.includes("*");
    });
    const counts = new Map();
    for (const entry of codes) counts.set(entry.code, (counts.get(entry.code) || 0) + 1);
    const own = codes.filter((entry) => !(entry.models || []).includes("*"));
    const common = codes.filter((entry) => (entry.models || []).includes("*"));
    for (const [entries, label] of [[own, `${model || "model"} codes`], [common, "Common codes"]]) {
      if (!entries.length) continue;
      const group = el("optgroup", { label });
      for (const entry of entries) {
        const where = [entry.status, entry.stage].filter((part) => part !== undefined && part !== null).join(", ");
        let label = where ? `${entry.code} (${where})` : entry.code;
        if (counts.get(entry.code) > 1 && entry.reason) label += ` · ${entry.reason}`;
        group.append(
          el("option", {
            value: entry.code,
            text: label,
            title: entry.message || null,
            dataset: entry.reason && counts.get(entry.code) > 1 ? { reason: entry.reason } : undefined,
          })
        );
      }
      select.append(group);
    }
    if (previous && Array.from(select.options).some((option) => option.value === previous)) select.value = previous;
  }

  async function loadCatalogue() {
    for (;;) {
      try {
        state.catalogue = await api("GET", "/catalogue");
        fillScenarioModels(state.catalogue);
        return;
      } catch (error) {
        await sleep(5 * RECONNECT_MS); // shown in #message; try again (the mock may be restarting)
      }
    }
  }

  function noteFaultOperation(operation) {
    if (!operation) return;
    const list = $("fault-operations");
    if (Array.from(list.options).some((option) => option.value === operation)) return;
    list.append(el("option", { value: operation }));
  }

  function addScenario(event) {
    event.preventDefault();
    const model = $("scenario-model").value;
    const option = $("scenario-code").selectedOptions[0];
    const times = parseInt($("scenario-times").value, 10);
    if (!model || !option) {
      showMessage("Choose a model and a code.");
      return;
    }
    const body = { model, code: option.value, times: Number.isFinite(times) ? times : 1 };
    if (option.dataset.reason) body.reason = option.dataset.reason;
    act(async () => {
      const created = await api("POST", "/scenarios", body);
      const items = currentItems("scenarios-list").filter((item) => item.id !== created.id);
      renderScenarios([...items, created]);
    });
  }

  function addFault(event) {
    event.preventDefault();
    const kind = $("fault-kind").value;
    const body = { kind, operation: $("fault-operation").value.trim() || "*" };
    const times = $("fault-times").value.trim();
    body.times = times === "" ? null : parseInt(times, 10);
    if (kind === "error" && $("fault-status").value.trim() !== "") {
      body.status = parseInt($("fault-status").value, 10);
    }
    if (kind === "latency" && $("fault-latency").value.trim() !== "") {
      body.latency_seconds = parseFloat($("fault-latency").value);
    }
    act(async () => {
      const created = await api("POST", "/faults", body);
      const items = currentItems("faults-list").filter((item) => item.id !== created.id);
      renderFaults([...items, created]);
    });
  }

  function removeItem(kind, listId, li) {
    const id = li.dataset.id;
    act(async () => {
      await api("DELETE", `/${kind}/${encodeURIComponent(id)}`);
      const items = currentItems(listId).filter((item) => text(item.id) !== id);
      (kind === "scenarios" ? renderScenarios : renderFaults)(items);
    });
  }

  function onScenarios(payload) {
    renderScenarios(payload.data);
  }

  function onFaults(payload) {
    renderFaults(payload.data);
  }

  // ---------------------------------------------------------------------------------------------------- event stream

  /** Splits a text/event-stream into {event, data} records (blank line ends one; `:` lines are comments). */
  function sseParser(onEvent) {
    let buffer = "";
    let name = "";
    let data = [];
    const line = (raw) => {
      if (raw === "") {
        if (data.length) onEvent(name || "message", data.join("\n"));
        name = "";
        data = [];
        return;
      }
      if (raw.startsWith(":")) return;
      const colon = raw.indexOf(":");
      const field = colon === -1 ? raw : raw.slice(0, colon);
      let value = colon === -1 ? "" : raw.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "event") name = value;
      else if (field === "data") data.push(value);
    };
    return (chunk) => {
      buffer += chunk;
      let index;
      while ((index = buffer.search(/\r\n|\r|\n/)) !== -1) {
        const end = buffer[index] === "\r" && buffer[index + 1] === "\n" ? index + 2 : index + 1;
        if (buffer[index] === "\r" && index + 1 === buffer.length) break; // a \r\n split across chunks
        line(buffer.slice(0, index));
        buffer = buffer.slice(end);
      }
    };
  }

  function handleEvent(name, data, connection) {
    connection.touch();
    let payload;
    try {
      payload = JSON.parse(data);
    } catch (_) {
      return;
    }
    switch (name) {
      case "clock":
        renderClock(payload);
        break;
      case "task":
        connection.seenTasks.add(payload.task_id);
        upsertTask(payload);
        break;
      case "tasks-removed":
        removeTasks(payload.task_ids);
        break;
      case "request":
        addJournalEntry(payload);
        break;
      case "scenarios":
        onScenarios(payload);
        break;
      case "faults":
        onFaults(payload);
        break;
      case "reset":
        onReset();
        break;
      default:
        break;
    }
  }

  /** The state was reset or the journal emptied: forget what was received; the stream sends the whole state again. */
  function onReset() {
    clearTasks();
    clearJournal();
  }

  async function streamLoop() {
    let first = true;
    for (;;) {
      // After a reconnect: the tasks shown that the new stream's start-up state (its first burst of events: the
      // clock, scenarios and faults always come in it) does not name are gone, removed while no stream was open.
      // The open detail stays (its row comes back if it was only late).
      const stale = first ? new Set() : new Set(state.tasks.keys());
      let settled = first;
      let quiet = null;
      const connection = {
        seenTasks: new Set(),
        settle: () => {
          clearTimeout(quiet);
          if (settled) return;
          settled = true;
          const gone = Array.from(stale).filter((id) => !connection.seenTasks.has(id));
          if (gone.length) removeTasks(gone, { keepDetail: true });
        },
        touch: () => {
          if (settled) return;
          clearTimeout(quiet);
          quiet = setTimeout(connection.settle, SNAPSHOT_QUIET_MS);
        },
      };
      const controller = new AbortController();
      state.streamAbort = controller;
      try {
        setConnection("connecting", first ? "connecting…" : "reconnecting…");
        const answer = await fetch(`${API}/events`, {
          headers: { Accept: "text/event-stream", ...authHeaders() },
          cache: "no-store",
          signal: controller.signal,
        });
        if (answer.status === 401) {
          await waitForToken();
          continue;
        }
        if (!answer.ok || !answer.body) {
          let detail = `HTTP ${answer.status}`;
          try {
            const payload = await answer.json();
            if (payload && payload.code) detail = `${payload.code}: ${payload.message}`;
          } catch (_) {
            /* not JSON */
          }
          showMessage(`Event stream: ${detail}`);
          setConnection("down", "disconnected");
        } else {
          setConnection("live", "live");
          if ($("message").textContent.startsWith("Event stream: ")) clearMessage();
          first = false;
          const reader = answer.body.getReader();
          const decoder = new TextDecoder();
          const feed = sseParser((name, data) => handleEvent(name, data, connection));
          try {
            for (;;) {
              const { value, done } = await reader.read();
              if (done) break;
              feed(decoder.decode(value, { stream: true }));
            }
          } finally {
            connection.settle();
          }
          setConnection("connecting", "reconnecting…"); // the stream ended (max_seconds): open the next one
        }
      } catch (error) {
        setConnection("down", "disconnected");
      }
      await sleep(RECONNECT_MS);
    }
  }

  // ---------------------------------------------------------------------------------------------------- tabs

  function showView(name) {
    for (const view of ["tasks", "journal", "scripting"]) {
      const active = view === name;
      $(`view-${view}`).hidden = !active;
      $(`tab-${view}`).setAttribute("aria-selected", active ? "true" : "false");
      $(`tab-${view}`).classList.toggle("active", active);
    }
    if (location.hash !== `#${name}`) history.replaceState(null, "", `#${name}`);
    if (name === "journal" && state.journalStick) $("journal-wrap").scrollTop = $("journal-wrap").scrollHeight;
  }

  // ---------------------------------------------------------------------------------------------------- wiring

  function wire() {
    $("token-form").addEventListener("submit", saveToken);

    for (const seconds of [1, 10, 60, 3600]) {
      $(`advance-${seconds}`).addEventListener("click", () => advance(seconds));
    }
    $("advance-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const seconds = parseDuration($("advance-seconds").value);
      if (seconds === null || seconds <= 0) {
        showMessage("InvalidInput: give seconds (e.g. 90) or a number with s, m, h or d (e.g. 90m, 2h, 1d).");
        return;
      }
      advance(seconds);
    });
    $("reset").addEventListener("click", () => {
      const question = "Reset the mock? This forgets every task, upload, scenario, fault and the journal, " +
        "and sets the clock back to real time.";
      if (!window.confirm(question)) return;
      act(async () => {
        await api("POST", "/reset");
        clearTasks();
        clearJournal();
      });
    });

    for (const view of ["tasks", "journal", "scripting"]) {
      $(`tab-${view}`).addEventListener("click", () => showView(view));
    }

    $("filter-model").addEventListener("change", applyTaskFilters);
    $("filter-status").addEventListener("change", applyTaskFilters);
    $("filter-key").addEventListener("input", applyTaskFilters);
    const openRow = (event) => {
      const row = event.target.closest("tr[data-task-id]");
      if (row) openTask(row.dataset.taskId);
    };
    $("tasks-body").addEventListener("click", openRow);
    $("tasks-body").addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        openRow(event);
      }
    });
    $("task-detail-close").addEventListener("click", closeTask);

    $("journal-wrap").addEventListener("scroll", () => {
      const wrap = $("journal-wrap");
      if (wrap.clientHeight) state.journalStick = wrap.scrollHeight - wrap.scrollTop - wrap.clientHeight < 40;
    });
    $("journal-filter").addEventListener("input", applyJournalFilters);
    $("journal-operation").addEventListener("change", applyJournalFilters);
    const pickRequest = (event) => {
      const row = event.target.closest("tr[data-seq]");
      if (row) selectJournalRow(row);
    };
    $("journal-body").addEventListener("click", pickRequest);
    $("journal-body").addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        pickRequest(event);
      }
    });
    $("clear-journal").addEventListener("click", () => {
      if (!window.confirm("Clear the request journal?")) return;
      act(async () => {
        await api("DELETE", "/requests");
        clearJournal();
      });
    });

    $("scenario-model").addEventListener("change", fillScenarioCodes);
    $("scenario-form").addEventListener("submit", addScenario);
    $("fault-form").addEventListener("submit", addFault);
    $("fault-kind").addEventListener("change", () => {
      $("fault-form").dataset.kind = $("fault-kind").value;
    });
    $("scenarios-list").addEventListener("click", (event) => {
      const button = event.target.closest("button.remove");
      if (button) removeItem("scenarios", "scenarios-list", button.closest("li"));
    });
    $("faults-list").addEventListener("click", (event) => {
      const button = event.target.closest("button.remove");
      if (button) removeItem("faults", "faults-list", button.closest("li"));
    });

    for (const status of KNOWN_STATUSES) noteOption("filter-status", status);
    const initial = location.hash.replace("#", "");
    showView(["tasks", "journal", "scripting"].includes(initial) ? initial : "tasks");
    updateTaskCounts();
    updateJournalCounts();
    renderScenarios([]);
    renderFaults([]);
  }

  function start() {
    wire();
    loadCatalogue();
    streamLoop();
    // A page kept in the back/forward cache must not hold its stream open (the server would wait for it when it
    // stops); the loop is frozen with the page and reconnects when the page is shown again.
    window.addEventListener("pagehide", () => {
      if (state.streamAbort) state.streamAbort.abort();
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();

  // For a console session: window.dashboard.parseDuration("90m") and friends.
  window.dashboard = { parseDuration, sseParser, state };
})();
