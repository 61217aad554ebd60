// DOM helpers shared by the modules: lookups, element building (text only through textContent), filter options.

export const $ = (id) => document.getElementById(id);

export function el(tag, props, ...children) {
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

export function text(value) {
  return value === undefined || value === null ? "" : String(value);
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Adds `value` to a filter select (kept sorted) the first time it is seen. */
export function noteOption(selectId, value) {
  if (!value) return;
  const select = $(selectId);
  if (Array.from(select.options).some((option) => option.value === value)) return;
  const option = el("option", { value, text: value });
  const after = Array.from(select.options).slice(1).find((other) => other.value > value);
  select.insertBefore(option, after || null);
}
