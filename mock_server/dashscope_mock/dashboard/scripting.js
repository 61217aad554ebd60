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
    if (item.kind === "gateway_html") details.push(text(item.gateway_status || 502));
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
}
