// The tasks table: rows from the event stream's `task` events (newest first), the model, status and key filters,
// the counts, and opening a row's detail (task-detail.js).

import { $, el, noteOption, text } from "/_mock/dashboard/dom.js";
import { state } from "/_mock/dashboard/state.js";
import { closeTask, detailSignature, openTask } from "/_mock/dashboard/task-detail.js";

const KNOWN_STATUSES = [
  "PENDING", "PRE-PROCESSING", "RUNNING", "POST-PROCESSING", "SUCCEEDED", "FAILED", "CANCELED", "UNKNOWN",
];

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

export function upsertTask(task) {
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

export function removeTasks(ids, { keepDetail = false } = {}) {
  for (const id of ids || []) {
    state.tasks.delete(id);
    const row = $("tasks-body").querySelector(`tr[data-task-id="${CSS.escape(id)}"]`);
    if (row) row.remove();
    if (state.openTaskId === id && !keepDetail) closeTask();
  }
  updateTaskCounts();
}

export function clearTasks() {
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

export function updateTaskCounts() {
  const rows = $("tasks-body").rows;
  let shown = 0;
  for (const row of rows) if (!row.hidden) shown += 1;
  $("tasks-count").textContent = rows.length ? String(rows.length) : "";
  $("tasks-shown").textContent = rows.length && shown !== rows.length ? `${shown} of ${rows.length} shown` : "";
  $("tasks-empty").hidden = rows.length > 0 || !state.loaded; // nothing read yet is not "no tasks"
}

/** The filters, opening a row (click, Enter or Space) and closing the detail; the known statuses in the filter. */
export function wireTasks() {
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
  for (const status of KNOWN_STATUSES) noteOption("filter-status", status);
}
