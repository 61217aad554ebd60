// The page's shared state: one object the modules read and write (and `window.dashboard.state` in a console).

export const state = {
  tasks: new Map(), // task_id -> MockTask list item (tasks.js)
  openTaskId: null, // the task in the detail panel (task-detail.js)
  openTaskSignature: null,
  detailRequest: 0, // ignores a late answer for a task no longer open
  journalSeqs: new Map(), // seq -> row (journal.js)
  journalStick: true, // the journal follows new rows while scrolled to its end
  catalogue: null, // GET /_mock/catalogue (scripting.js)
  tokenWaiters: [], // resolved once a token was saved (api.js)
  streamAbort: null, // ends the open event stream (the page is leaving, or entering the back/forward cache)
  loaded: false, // the first stream's start-up state has arrived (events.js): only then can a list be "empty"
};
