// Scenarios and faults: their lists (from the event stream's `scenarios` and `faults` events), the forms that add
// them, removing one, and the catalogue (GET /_mock/catalogue) behind the scenario form's models and codes.

import { act, api, RECONNECT_MS, showMessage } from "/_mock/dashboard/api.js";
import { $, el, noteOption, sleep, text } from "/_mock/dashboard/dom.js";
import { state } from "/_mock/dashboard/state.js";

export function renderScenarios(items) {
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

export function renderFaults(items) {
  const list = $("faults-list");
  list.replaceChildren();
  for (const item of items || []) {
    const details = [];
    if (item.kind === "error") details.push([item.status, item.code].filter(Boolean).join(" "));
    if (item.kind === "latency") details.push(`${text(item.latency_seconds)} s`);
    if (item.kind === "latency" && item.latency_distribution && item.latency_distribution !== "fixed") {
      details.pop();
      details.push(item.latency_distribution === "uniform"
        ? `uniform ${text(item.latency_min_seconds)}–${text(item.latency_max_seconds)} s`
        : `lognormal median ${text(item.latency_median_seconds)} s σ ${text(item.latency_sigma ?? 0.5)}`);
    }
    if (item.kind === "gateway_html") details.push(text(item.gateway_status || 502));
    if (item.kind === "chunked_dribble") {
      details.push(`${text(item.dribble_bytes ?? 16)} B / ${text(item.dribble_interval_ms ?? 100)} ms`);
    }
    if (item.kind === "wrong_type") details.push(text(item.field));
    if (item.kind === "unknown_status") details.push(text(item.task_status));
    if (item.kind === "result_link_error") details.push(text(item.result_status || 403));
    if (item.name) details.push(`“${item.name}”`);
    if (item.model) details.push(item.model);
    if (item.task_id) details.push(`task ${item.task_id}`);
    if (item.key) details.push(`key ${item.key}`);
    if (item.per_request) details.push(`X-Mock-Fault: ${item.name || item.id}`);
    if (item.active_from !== undefined || item.active_until !== undefined) {
      details.push(`window ${text(item.active_from ?? "…")}–${text(item.active_until ?? "…")}`);
    }
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
    if (!Array.from($("fault-models").options).some((option) => option.value === model.name)) {
      $("fault-models").append(el("option", { value: model.name }));
    }
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

export async function loadCatalogue() {
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

export function noteFaultOperation(operation) {
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

/** The value of an input, or undefined when empty. */
function given(id, parse = (value) => value) {
  const value = $(id).value.trim();
  return value === "" ? undefined : parse(value);
}

/** Each kind's own fields (POST /_mock/faults, FaultRequest): input id -> [field, parser]. */
const KIND_FIELDS = {
  error: { "fault-status": ["status", (v) => parseInt(v, 10)] },
  gateway_html: { "fault-gateway-status": ["gateway_status", (v) => parseInt(v, 10)] },
  chunked_dribble: {
    "fault-dribble-bytes": ["dribble_bytes", (v) => parseInt(v, 10)],
    "fault-dribble-interval": ["dribble_interval_ms", parseFloat],
  },
  wrong_type: { "fault-field": ["field", String] },
  unknown_status: { "fault-task-status": ["task_status", String] },
  result_link_error: { "fault-result-status": ["result_status", (v) => parseInt(v, 10)] },
};
const LATENCY_FIELDS = {
  fixed: { "fault-latency": ["latency_seconds", parseFloat] },
  uniform: { "fault-latency-min": ["latency_min_seconds", parseFloat], "fault-latency-max": ["latency_max_seconds", parseFloat] },
  lognormal: {
    "fault-latency-median": ["latency_median_seconds", parseFloat],
    "fault-latency-sigma": ["latency_sigma", parseFloat],
  },
};
// The kinds that apply to one operation only: the form fills it in.
const KIND_OPERATION = {
  unknown_status: "getTask",
  missing_result_url: "getTask",
  status_regression: "getTask",
  result_link_error: "getResult",
};

function addFields(body, fields) {
  for (const [id, [name, parse]] of Object.entries(fields)) {
    const value = given(id, parse);
    if (value !== undefined) body[name] = value;
  }
}

/** The fault form's body for its kind, its selectors and its window (seconds from the mock clock's now). */
async function faultBody() {
  const kind = $("fault-kind").value;
  const body = { kind, operation: $("fault-operation").value.trim() || "*" };
  const times = $("fault-times").value.trim();
  body.times = times === "" ? null : parseInt(times, 10);
  if (kind === "latency") {
    const distribution = $("fault-latency-distribution").value;
    if (distribution !== "fixed") body.latency_distribution = distribution;
    addFields(body, LATENCY_FIELDS[distribution]);
  }
  addFields(body, KIND_FIELDS[kind] || {});
  addFields(body, {
    "fault-model": ["model", String],
    "fault-task-id": ["task_id", String],
    "fault-key": ["key", String],
    "fault-name": ["name", String],
    "fault-probability": ["probability", parseFloat],
    "fault-seed": ["seed", (v) => parseInt(v, 10)],
  });
  if (body.probability === 1) delete body.probability;
  if ($("fault-per-request").checked) body.per_request = true;
  const from = given("fault-from", parseFloat);
  const until = given("fault-until", parseFloat);
  if (from !== undefined || until !== undefined) {
    const clock = await api("GET", "/clock");
    if (from !== undefined) body.active_from = clock.now + from;
    if (until !== undefined) body.active_until = clock.now + until;
  }
  return body;
}

function addFault(event) {
  event.preventDefault();
  act(async () => {
    const created = await api("POST", "/faults", await faultBody());
    const items = currentItems("faults-list").filter((item) => item.id !== created.id);
    renderFaults([...items, created]);
    $("fault-key").value = ""; // a key typed in is not kept in the page either
  });
}

/** Show the fields of the chosen kind (and latency distribution) only; fill in a kind's one operation. */
function showFaultFields() {
  const kind = $("fault-kind").value;
  const distribution = $("fault-latency-distribution").value;
  $("fault-form").dataset.kind = kind;
  for (const element of $("fault-form").querySelectorAll("[data-for]")) {
    const forKind = element.dataset.for.split(" ").includes(kind);
    const forDistribution = !element.dataset.distribution || element.dataset.distribution === distribution;
    element.hidden = !(forKind && forDistribution);
  }
  if (KIND_OPERATION[kind]) $("fault-operation").value = KIND_OPERATION[kind];
}

function removeItem(kind, listId, li) {
  const id = li.dataset.id;
  act(async () => {
    await api("DELETE", `/${kind}/${encodeURIComponent(id)}`);
    const items = currentItems(listId).filter((item) => text(item.id) !== id);
    (kind === "scenarios" ? renderScenarios : renderFaults)(items);
  });
}

export function onScenarios(payload) {
  renderScenarios(payload.data);
}

export function onFaults(payload) {
  renderFaults(payload.data);
}

/** The codes that follow the chosen model, both forms (the fault form shows its kind's fields), the remove buttons. */
export function wireScripting() {
  $("scenario-model").addEventListener("change", fillScenarioCodes);
  $("scenario-form").addEventListener("submit", addScenario);
  $("fault-form").addEventListener("submit", addFault);
  $("fault-kind").addEventListener("change", showFaultFields);
  $("fault-latency-distribution").addEventListener("change", showFaultFields);
  showFaultFields();
  $("scenarios-list").addEventListener("click", (event) => {
    const button = event.target.closest("button.remove");
    if (button) removeItem("scenarios", "scenarios-list", button.closest("li"));
  });
  $("faults-list").addEventListener("click", (event) => {
    const button = event.target.closest("button.remove");
    if (button) removeItem("faults", "faults-list", button.closest("li"));
  });
}
