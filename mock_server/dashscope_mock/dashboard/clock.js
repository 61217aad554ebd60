// The header's mock clock: shown from the event stream's `clock` events, advanced by the buttons and the typed
// duration, and the reset button.

import { act, api, showMessage } from "/_mock/dashboard/api.js";
import { $, text } from "/_mock/dashboard/dom.js";

const UNITS = { "": 1, s: 1, m: 60, h: 3600, d: 86400 };

/** "90" -> 90, "90m" -> 5400, "1h30m" -> 5400, "2.5 d" -> 216000; null when not understood. */
export function parseDuration(input) {
  const value = input.trim().toLowerCase();
  if (!/^(\d+(\.\d+)?|\.\d+)\s*[smhd]?(\s*(\d+(\.\d+)?|\.\d+)\s*[smhd]?)*$/.test(value)) return null;
  let seconds = 0;
  for (const [, number, unit] of value.matchAll(/(\d+(?:\.\d+)?|\.\d+)\s*([smhd]?)/g)) {
    seconds += parseFloat(number) * UNITS[unit];
  }
  return Number.isFinite(seconds) ? seconds : null;
}

export function renderClock(clock) {
  if (!clock) return;
  $("clock-time").textContent = text(clock.time);
  $("clock-time").title = clock.now !== undefined ? `epoch ${clock.now}` : "";
  if (clock.utc_offset) {
    // every time the page shows is the service's (Beijing unless configured): say which zone, once per column
    for (const zone of document.querySelectorAll(".tz")) zone.textContent = `(UTC${clock.utc_offset})`;
  }
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

/** The advance buttons and form, and the reset button: after a reset `forget` empties what the page shows. */
export function wireClock(forget) {
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
      forget();
    });
  });
}
