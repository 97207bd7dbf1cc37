// The Tasks page (#/tasks?status=&search=&page=): the current workspace, the generator and the
// task list. The list follows status changes through WS /api/tasks/events ("changed" → refetch)
// when the viewer has it, with a slow poll behind it; without it, a poll that is quick while any
// task is queued or running.

import { el } from '../util.js';
import { wsUrl } from '../api.js';
import { taskGet, taskPost, isTokenError, tokenRequiredPanel } from './tasks_api.js';
import { createGenerator } from './tasks_generator.js';
import { createTaskList } from './tasks_list.js';

const POLL_ACTIVE_MS = 1000;
const POLL_IDLE_MS = 10000;
const POLL_WITH_EVENTS_MS = 30000;

// Re-renders the current route (after a token was pasted).
const rerender = () => window.dispatchEvent(new HashChangeEvent('hashchange'));

export function showTokenRequired(main, e) {
  main.replaceChildren(tokenRequiredPanel(e && e.detail, rerender));
}

export async function renderTasks(main, route) {
  let workspace;
  try {
    workspace = await taskGet('/api/workspace');
  } catch (e) {
    if (isTokenError(e)) { showTokenRequired(main, e); return undefined; }
    throw e;
  }
  const root = el('div.tasks-page');
  main.append(root);
  let disposed = false;
  const onTokenError = (e) => { if (!disposed) { cleanup(); showTokenRequired(main, e); } };

  const head = el('div.row.tasks-head',
    el('h1', 'Tasks'),
    el('span.muted.workspace-name', `${workspace.script_name} (${workspace.workspace_kind})`),
    el('span.mono.muted', workspace.run_root),
    el('span.grow'),
    el('span.muted.live-info'));
  root.append(head);

  if (!workspace.workspace_ready) {
    // No workspace in this project yet: the shell workspace needs nothing but a folder. A script
    // workspace is made with `runicorn tasks init SCRIPT.py` (it names a file on this machine).
    root.append(el('div.panel', el('p', 'This project has no task workspace yet. Create one with ',
      el('code', 'runicorn tasks init SCRIPT.py --config CONFIG.yaml'), ', or start with the shell workspace.'),
    el('button.primary', { onclick: async () => {
      try { await taskPost('/api/workspace/shell'); rerender(); } catch (e) { if (isTokenError(e)) onTokenError(e); }
    } }, 'Use the shell workspace')));
    return () => { disposed = true; };
  }

  const state = {
    status: route.query.get('status') || '',
    search: route.query.get('search') || '',
    page: Math.max(1, +route.query.get('page') || 1),
  };
  const list = createTaskList(state, { onTokenError });
  const generator = createGenerator(workspace, {
    onTokenError,
    onCreated: (names) => list.select(names),
  });
  root.append(el('div.spacer'), generator.element, el('div.spacer'), list.element);

  // ---- refresh -----------------------------------------------------------------------------
  const liveInfo = head.querySelector('.live-info');
  let events = null;
  let eventsLive = false;
  let timer = 0;
  let refreshTimer = 0;
  function schedule() {
    clearTimeout(timer);
    if (disposed) return;
    const ms = eventsLive ? POLL_WITH_EVENTS_MS : list.activeCount() ? POLL_ACTIVE_MS : POLL_IDLE_MS;
    timer = setTimeout(async () => { await list.load(); schedule(); }, ms);
  }
  function openEvents() {
    events = new WebSocket(wsUrl('/api/tasks/events'));
    events.onopen = () => { eventsLive = true; liveInfo.textContent = 'live'; schedule(); };
    events.onmessage = (ev) => {
      let msg;
      try { msg = JSON.parse(ev.data); } catch { return; }
      if (msg.type === 'heartbeat' || msg.type === 'ready') return;
      // Coalesce bursts (a batch changes many tasks at once) into one refetch.
      if (!refreshTimer) refreshTimer = setTimeout(() => { refreshTimer = 0; if (!disposed) list.load(); }, 150);
    };
    events.onclose = () => {
      const was = eventsLive;
      eventsLive = false;
      liveInfo.textContent = '';
      if (disposed) return;
      schedule();
      // Reconnect only to a server that had the stream (an older viewer answers the upgrade 404).
      if (was) setTimeout(() => { if (!disposed) openEvents(); }, 3000);
    };
  }

  function cleanup() {
    disposed = true;
    clearTimeout(timer);
    clearTimeout(refreshTimer);
    if (events) events.close();
    list.destroy();
    generator.destroy();
  }

  await list.load();
  if (disposed) return cleanup;  // the token was refused meanwhile
  openEvents();
  schedule();
  return cleanup;
}
