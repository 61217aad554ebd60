// The mock's dashboard: reads the control plane's event stream (GET /_mock/events) and writes through its documented
// endpoints, nothing else. Vanilla ES modules (this one wires the others), no build step; every text reaches the DOM
// through textContent.

import { wireToken } from "/_mock/dashboard/api.js";
import { parseDuration, renderClock, wireClock } from "/_mock/dashboard/clock.js";
import { $ } from "/_mock/dashboard/dom.js";
import { sseParser, startStream } from "/_mock/dashboard/events.js";
import { addJournalEntry, clearJournal, updateJournalCounts, wireJournal } from "/_mock/dashboard/journal.js";
import {
  loadCatalogue, onFaults, onScenarios, renderFaults, renderScenarios, wireScripting,
} from "/_mock/dashboard/scripting.js";
import { state } from "/_mock/dashboard/state.js";
import { clearTasks, removeTasks, updateTaskCounts, upsertTask, wireTasks } from "/_mock/dashboard/tasks.js";

const VIEWS = ["tasks", "journal", "scripting"];

/** The state was reset or the journal emptied: forget what was received (the stream sends the whole state again). */
function forget() {
  clearTasks();
  clearJournal();
}

function showView(name) {
  for (const view of VIEWS) {
    const active = view === name;
    $(`view-${view}`).hidden = !active;
    $(`tab-${view}`).setAttribute("aria-selected", active ? "true" : "false");
    $(`tab-${view}`).classList.toggle("active", active);
  }
  if (location.hash !== `#${name}`) history.replaceState(null, "", `#${name}`);
  if (name === "journal" && state.journalStick) $("journal-wrap").scrollTop = $("journal-wrap").scrollHeight;
}

function wire() {
  wireToken();
  wireClock(forget);
  for (const view of VIEWS) {
    $(`tab-${view}`).addEventListener("click", () => showView(view));
  }
  wireTasks();
  wireJournal();
  wireScripting();

  const initial = location.hash.replace("#", "");
  showView(VIEWS.includes(initial) ? initial : "tasks");
  updateTaskCounts();
  updateJournalCounts();
  renderScenarios([]);
  renderFaults([]);
}

function start() {
  wire();
  loadCatalogue();
  startStream({
    handlers: {
      clock: renderClock,
      task: upsertTask,
      "tasks-removed": (payload) => removeTasks(payload.task_ids),
      request: addJournalEntry,
      scenarios: onScenarios,
      faults: onFaults,
      reset: forget,
      loaded: () => {
        updateTaskCounts();
        updateJournalCounts();
      },
    },
    shownTasks: () => state.tasks.keys(),
    dropGone: (ids) => removeTasks(ids, { keepDetail: true }), // the open detail stays: its row may only be late
  });
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();

// For a console session: window.dashboard.parseDuration("90m") and friends.
window.dashboard = { parseDuration, sseParser, state };
