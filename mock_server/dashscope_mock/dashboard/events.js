// The event stream (GET /_mock/events, server-sent events) read with fetch and a ReadableStream, so that it carries
// the control token: each event goes to its handler; the stream is opened again when it ends or fails, and aborted
// when the page is hidden (it reconnects when the page is shown again).

import {
  API, authHeaders, clearMessage, RECONNECT_MS, setConnection, showMessage, waitForToken,
} from "/_mock/dashboard/api.js";
import { $, sleep } from "/_mock/dashboard/dom.js";
import { state } from "/_mock/dashboard/state.js";

// A stream sends its start-up state in one burst: once it paused this long, the burst is over.
const SNAPSHOT_QUIET_MS = 300;

/** Splits a text/event-stream into {event, data} records (blank line ends one; `:` lines are comments). */
export function sseParser(onEvent) {
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

/** Hands one event's JSON to `handlers[name]` (events without a handler are ignored). */
function handleEvent(name, data, connection, handlers) {
  connection.touch();
  let payload;
  try {
    payload = JSON.parse(data);
  } catch (_) {
    return;
  }
  if (name === "task") connection.seenTasks.add(payload.task_id);
  if (Object.prototype.hasOwnProperty.call(handlers, name)) handlers[name](payload);
}

async function streamLoop({ handlers, shownTasks, dropGone }) {
  let first = true;
  for (;;) {
    // After a reconnect: the tasks shown that the new stream's start-up state (its first burst of events: the
    // clock, scenarios and faults always come in it) does not name are gone, removed while no stream was open.
    // The open detail stays (its row comes back if it was only late).
    const stale = first ? new Set() : new Set(shownTasks());
    let settled = first;
    let quiet = null;
    const connection = {
      seenTasks: new Set(),
      settle: () => {
        clearTimeout(quiet);
        if (settled) return;
        settled = true;
        const gone = Array.from(stale).filter((id) => !connection.seenTasks.has(id));
        if (gone.length) dropGone(gone);
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
        if (!state.loaded) {
          // the start-up state comes in one burst: once it is over, an empty list means no tasks (no requests)
          setTimeout(() => {
            state.loaded = true;
            handlers.loaded?.();
          }, SNAPSHOT_QUIET_MS);
        }
        if ($("message").textContent.startsWith("Event stream: ")) clearMessage();
        first = false;
        const reader = answer.body.getReader();
        const decoder = new TextDecoder();
        const feed = sseParser((name, data) => handleEvent(name, data, connection, handlers));
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

/**
 * Opens the event stream and keeps it open: `handlers` maps an event's name to a function of its payload;
 * `shownTasks()` returns the ids of the tasks shown, and after a reconnect `dropGone(ids)` gets those of them the new
 * stream's start-up state does not name.
 */
export function startStream({ handlers, shownTasks, dropGone }) {
  streamLoop({ handlers, shownTasks, dropGone });
  // A page kept in the back/forward cache must not hold its stream open (the server would wait for it when it
  // stops); the loop is frozen with the page and reconnects when the page is shown again.
  window.addEventListener("pagehide", () => {
    if (state.streamAbort) state.streamAbort.abort();
  });
}
