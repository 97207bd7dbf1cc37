// One task (#/tasks/<name>): run / rerun and cancel, config, run history, records table, tracks
// as charts and the live log. While the task is queued or running the task is re-read every
// POLL_MS (a new run or a final status redraws history, records and tracks); the log follows on
// its own (tasks_log.js).

import { el, fmtDuration, fmtNum, statusBadge } from '../util.js';
import { taskGet, taskPost, taskPath, isTokenError, isActive } from './tasks_api.js';
import { showTokenRequired } from './tasks.js';
import { TaskLogFollower } from './tasks_log.js';
import { renderTracks } from './tasks_tracks.js';

const POLL_MS = 1000;

const at = (arr, i) => (Array.isArray(arr) ? arr[i] : undefined);

function historyTable(t) {
  const n = t.run_index || 0;
  const rows = [];
  for (let i = n - 1; i >= 0; i--) {
    rows.push(el('tr', { dataset: { run: String(i + 1), status: at(t.run_statuses, i) || '' } },
      el('td', `run ${i + 1}`),
      el('td', statusBadge(at(t.run_statuses, i) || (i === n - 1 ? t.status : ''))),
      el('td', at(t.start_times, i) || ''),
      el('td', at(t.finish_times, i) || ''),
      el('td', fmtDuration(at(t.durations, i))),
      el('td', String(at(t.exit_codes, i) ?? '')),  // a bare 0 would be taken for el()'s attrs
      el('td.mono.muted', String(at(t.pids, i) ?? '')),
      el('td.mono.muted.wrap', at(t.source_states, i) || '')));
  }
  return el('table.grid.task-history',
    el('thead', el('tr', ['Run', 'Status', 'Started', 'Finished', 'Duration', 'Exit code', 'PID', 'Source'].map((h) => el('th', h)))),
    el('tbody', rows.length ? rows : el('tr', el('td.muted', { colspan: 8 }, 'Never run.'))));
}

// One row per run that recorded something; one column per key any run recorded.
function recordsTable(records) {
  const runs = (records || []).map((r, i) => ({ run: i + 1, values: r || {} })).filter((r) => Object.keys(r.values).length);
  if (!runs.length) return el('div.muted.task-records', 'No records (pyruns.record) in any run.');
  const keys = [...new Set(runs.flatMap((r) => Object.keys(r.values)))].sort();
  const cell = (v) => (v !== null && typeof v === 'object' ? JSON.stringify(v) : fmtNum(v));
  return el('table.grid.task-records',
    el('thead', el('tr', el('th', 'Run'), keys.map((k) => el('th', k)))),
    el('tbody', runs.map((r) => el('tr', { dataset: { run: String(r.run) } },
      el('td', `run ${r.run}`), keys.map((k) => el('td', { dataset: { key: k } }, cell(r.values[k])))))));
}

export async function renderTask(main, name) {
  let task;
  try {
    task = await taskGet(taskPath(name));
  } catch (e) {
    if (isTokenError(e)) { showTokenRequired(main, e); return undefined; }
    if (e.status === 404) { main.append(el('div.error', `No task named ${name} in this workspace.`), el('a', { href: '#/tasks' }, '‹ Tasks')); return undefined; }
    throw e;
  }
  let disposed = false;
  const root = el('div.task-page', { dataset: { task: name } });
  main.append(root);
  const onTokenError = (e) => { if (!disposed) { cleanup(); showTokenRequired(main, e); } };

  // ---- header and actions ------------------------------------------------------------------
  const statusEl = el('span.task-status');
  const runsEl = el('span.muted');
  const message = el('div.task-message');
  const runBtn = el('button.primary', { name: 'run-task', onclick: () => act('run') });
  const cancelBtn = el('button.danger', { name: 'cancel-task', onclick: () => act('cancel') }, 'Cancel');
  root.append(
    el('div.run-head', el('a', { href: '#/tasks' }, '‹ Tasks'), el('h1', name), statusEl, runsEl,
      el('span.muted', `${task.task_kind} · created ${task.created_at || ''}`), el('span.grow'), runBtn, cancelBtn),
    message, el('div.spacer'));

  async function act(what) {
    runBtn.disabled = cancelBtn.disabled = true;
    try {
      const r = await taskPost(taskPath(name, `/${what}`));
      message.className = 'task-message muted';
      message.textContent = '';
      if (r && r.task) update(r.task);
    } catch (e) {
      if (isTokenError(e)) { onTokenError(e); return; }
      message.className = 'task-message error';
      message.textContent = e.message;
    }
    refresh();
  }

  // ---- config, history, records, tracks ------------------------------------------------------
  const configBox = el('pre.mono.task-config');
  const infoBox = el('div.kv');
  const historyBox = el('div');
  const recordsBox = el('div');
  const tracksBox = el('div');
  let tracks = null;
  root.append(
    el('div.cards',
      el('div.panel', el('h3', `Config (${task.config_file || 'config'})`), configBox),
      el('div.panel', el('h3', 'Task'), infoBox)),
    el('h2', 'Run history'), historyBox,
    el('h2', 'Records'), recordsBox,
    el('h2', 'Tracks'), tracksBox);

  // ---- log ---------------------------------------------------------------------------------
  const logSelect = el('select', { name: 'log-file', onchange: () => log.open(logSelect.value, isActive(task.status)) });
  const logInfo = el('span.muted.log-info');
  const logBox = el('pre.logs.task-log');
  const stick = () => logBox.scrollHeight - logBox.scrollTop - logBox.clientHeight < 30;
  const log = new TaskLogFollower(name, {
    reset(text) { logBox.textContent = text; logBox.scrollTop = logBox.scrollHeight; },
    append(text) {
      const bottom = stick();
      logBox.append(text);
      if (bottom) logBox.scrollTop = logBox.scrollHeight;
    },
    logs(available, selected) {
      const want = log.file || selected;
      logSelect.replaceChildren(...available.map((f) => el('option', { value: f, selected: f === want }, f)));
    },
    info(text) { logInfo.textContent = text; },
    tokenError: onTokenError,
  });
  root.append(el('h2', 'Log'), el('div.row', el('label', 'file ', logSelect), logInfo), el('div.spacer'), logBox);

  // ---- updates -------------------------------------------------------------------------------
  let shownRun = -1;
  let shownStatus = '';
  function update(t) {
    const runChanged = t.run_index !== shownRun;
    const statusChanged = t.status !== shownStatus;
    task = t;
    statusEl.replaceChildren(statusBadge(t.status));
    root.dataset.status = t.status;
    runsEl.textContent = `${t.run_index || 0} run${t.run_index === 1 ? '' : 's'}`;
    runBtn.textContent = t.run_index ? 'Rerun' : 'Run';
    runBtn.disabled = isActive(t.status);
    cancelBtn.disabled = !isActive(t.status);
    configBox.textContent = t.config_text || '';
    infoBox.replaceChildren(
      el('div', 'folder'), el('div.mono', t.dir || ''),
      el('div', 'script'), el('div.mono', t.script || ''),
      el('div', 'pinned'), el('div', t.pinned ? 'yes' : 'no'),
      el('div', 'env'), el('div.mono', Object.entries(t.env || {}).map(([k, v]) => `${k}=${v}`).join(' ')),
      el('div', 'notes'), el('div', t.notes || ''));
    if (runChanged || statusChanged) {
      historyBox.replaceChildren(historyTable(t));
      recordsBox.replaceChildren(recordsTable(t.records));
      if (tracks) tracks.destroy();
      tracks = renderTracks(t.tracks);
      tracksBox.replaceChildren(tracks.element);
    }
    // A new run (or the first look at an active task) follows the server's default log; the end
    // of a run reads what is left of the log being shown.
    if (runChanged && shownRun !== -1 && isActive(t.status)) log.open('', true);
    else if (statusChanged && shownStatus && !isActive(t.status) && isActive(shownStatus)) log.finish().then(() => { if (!disposed) logInfo.textContent = ''; });
    shownRun = t.run_index;
    shownStatus = t.status;
  }

  let timer = 0;
  let refreshing = false;
  async function refresh() {
    if (disposed || refreshing) return;
    refreshing = true;
    clearTimeout(timer);
    try {
      update(await taskGet(taskPath(name)));
    } catch (e) {
      if (isTokenError(e)) { onTokenError(e); return; }
      message.className = 'task-message error';
      message.textContent = e.status === 404 ? 'This task no longer exists (deleted or renamed).' : e.message;
    } finally {
      refreshing = false;
    }
    if (!disposed && isActive(task.status)) timer = setTimeout(refresh, POLL_MS);
  }

  function cleanup() {
    disposed = true;
    clearTimeout(timer);
    log.stop();
    if (tracks) tracks.destroy();
  }

  update(task);
  await log.open('', isActive(task.status));
  if (!disposed && isActive(task.status)) timer = setTimeout(refresh, POLL_MS);
  return cleanup;
}
