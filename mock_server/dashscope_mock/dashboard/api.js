// The control plane's API: fetch with the control token (asked for with the token form after a 401), failures shown
// in #message as `CODE: message`, and the connection badge in the header.

import { $ } from "/_mock/dashboard/dom.js";
import { state } from "/_mock/dashboard/state.js";

export const API = "/_mock";
export const RECONNECT_MS = 1000; // before opening the event stream again (scripting.js: five times that)
const TOKEN_KEY = "dashscope-mock.control-token";

// ---------------------------------------------------------------------------------------------------- messages

export function showMessage(line, kind = "error") {
  const box = $("message");
  box.textContent = line;
  box.dataset.kind = kind;
}

export function clearMessage() {
  const box = $("message");
  box.textContent = "";
  delete box.dataset.kind;
}

export function setConnection(stateName, label) {
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

export function authHeaders() {
  const token = storedToken();
  return token ? { Authorization: `Bearer ${token}` } : {};
}

/** Shows the token form; resolves once a token was saved. */
export function waitForToken() {
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

export function wireToken() {
  $("token-form").addEventListener("submit", saveToken);
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
export async function api(method, path, body) {
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
export function act(work) {
  work().catch((error) => {
    if (!(error instanceof ApiFailure)) showMessage(`Error: ${error.message}`);
  });
}
