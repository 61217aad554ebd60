// The journal: the requests the mock received, from the event stream's `request` events (oldest first, bounded),
// the text and operation filters, the counts, a row's detail, and clearing it.

import { act, api } from "/_mock/dashboard/api.js";
import { $, el, noteOption, text } from "/_mock/dashboard/dom.js";
import { noteFaultOperation } from "/_mock/dashboard/scripting.js";
import { state } from "/_mock/dashboard/state.js";

const JOURNAL_MAX_ROWS = 1000;

function journalText(entry) {
  return [entry.method, entry.path, entry.query, entry.operation, entry.status, entry.request_id, entry.task_id]
    .map(text)
    .join(" ")
    .toLowerCase();
}

export function addJournalEntry(entry) {
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

export function clearJournal() {
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

export function updateJournalCounts() {
  const rows = $("journal-body").rows;
  let shown = 0;
  for (const row of rows) if (!row.hidden) shown += 1;
  $("journal-count").textContent = rows.length ? String(rows.length) : "";
  $("journal-shown").textContent = rows.length && shown !== rows.length ? `${shown} of ${rows.length} shown` : "";
  $("journal-empty").hidden = rows.length > 0 || !state.loaded;
}

function selectJournalRow(row) {
  for (const other of $("journal-body").querySelectorAll("tr.selected")) other.classList.remove("selected");
  row.classList.add("selected");
  $("request-detail").textContent = JSON.stringify(row.journalEntry, null, 2);
}

/** Following the end while scrolled there, the filters, picking a row (click, Enter or Space), the clear button. */
export function wireJournal() {
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
}
