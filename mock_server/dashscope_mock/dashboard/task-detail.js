// The task detail panel: GET /_mock/tasks/{id} shown as a summary, the failure or the result video, the timeline
// and the request; refetched when the task's events change what it shows.

import { api } from "/_mock/dashboard/api.js";
import { $, el, text } from "/_mock/dashboard/dom.js";
import { state } from "/_mock/dashboard/state.js";

/** What the open detail depends on beyond its timeline: a task event that changes it refetches the detail. */
export function detailSignature(task) {
  return JSON.stringify([task.status, task.code || "", task.end_time || "", Boolean(task.result_url)]);
}

/** A signed link without its signature: a re-signed link to the same file keeps the playing video. */
function unsigned(url) {
  return text(url).split("?")[0];
}

export async function openTask(taskId, { keepScroll = false } = {}) {
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

export function closeTask() {
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
