// The task list of the Tasks page: status filter (with the server's counts over every task),
// name search, selection, batch run with a worker count, cancel and delete.
//
// The status filter and paging are the server's (GET /api/tasks?status=&offset=&limit=). The
// route has no text search, so a search asks for up to SEARCH_LIMIT tasks of the chosen status
// and filters names here (every whitespace-separated term must occur, case-insensitively).

import { el, statusBadge } from '../util.js';
import { replaceQuery } from '../app.js';
import { qs } from '../api.js';
import { taskGet, taskPost, taskPath, isTokenError, isActive, STATUSES } from './tasks_api.js';

const PAGE_SIZE = 50;
const SEARCH_LIMIT = 10000;

export function matchesSearch(name, search) {
  const n = name.toLowerCase();
  return search.toLowerCase().split(/\s+/).filter(Boolean).every((t) => n.includes(t));
}

// state: {status, search, page} from the route; onTokenError(e). Returns
// {element, load(), select(names), activeCount(), destroy()}.
export function createTaskList(state, { onTokenError }) {
  const selected = new Set();
  const chips = el('div.row.status-chips');
  const search = el('input', { type: 'search', name: 'task-search', placeholder: 'search task names', value: state.search, size: 28 });
  const workers = el('input', { type: 'number', name: 'workers', min: 1, max: 32, value: 2, style: { width: '64px' } });
  const runBtn = el('button.primary', { name: 'run-selected', disabled: true, onclick: runSelected }, 'Run selected');
  const cancelBtn = el('button', { name: 'cancel-selected', disabled: true, onclick: cancelSelected }, 'Cancel selected');
  const deleteBtn = el('button.danger', { name: 'delete-selected', disabled: true, onclick: deleteSelected }, 'Delete selected');
  const info = el('span.muted.task-info');
  const message = el('div.task-message');
  const table = el('table.grid.tasks-table');
  const pager = el('div.pager');

  const element = el('div.task-list',
    el('div.panel',
      el('div.row', chips, el('span.grow'), search),
      el('div.spacer'),
      el('div.row', el('label', 'workers ', workers), runBtn, cancelBtn, deleteBtn, el('span.grow'), info)),
    message, el('div.spacer'), table, pager);

  let data = null;
  let controller = null;
  let destroyed = false;

  let searchTimer = 0;
  search.addEventListener('input', () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => { state.search = search.value.trim(); state.page = 1; load(); }, 200);
  });

  function saveQuery() {
    replaceQuery({ status: state.status, search: state.search, page: state.page > 1 ? state.page : '' });
  }

  async function load() {
    saveQuery();
    if (controller) controller.abort();
    controller = new AbortController();
    const searching = !!state.search;
    let d;
    try {
      d = await taskGet('/api/tasks' + qs({
        status: state.status || undefined,
        offset: searching ? 0 : (state.page - 1) * PAGE_SIZE,
        limit: searching ? SEARCH_LIMIT : PAGE_SIZE,
      }), { signal: controller.signal });
    } catch (e) {
      if (e.name === 'AbortError' || destroyed) return;
      if (isTokenError(e)) { onTokenError(e); return; }
      message.className = 'task-message error';
      message.textContent = e.message;
      return;
    }
    if (destroyed) return;
    if (searching) {
      const items = d.items.filter((t) => matchesSearch(t.name, state.search));
      d = { ...d, items: items.slice((state.page - 1) * PAGE_SIZE, state.page * PAGE_SIZE), total: items.length,
        has_more: items.length > state.page * PAGE_SIZE };
    }
    data = d;
    draw();
  }

  function drawChips() {
    const counts = data.status_counts || {};
    const all = STATUSES.reduce((n, s) => n + (counts[s] || 0), 0);
    const chip = (value, label, n) => el('button.chip', {
      class: `chip${state.status === value ? ' active' : ''}`, dataset: { status: value || 'all' },
      onclick: () => { state.status = value; state.page = 1; load(); },
    }, label, el('span.chip-count', String(n)));
    chips.replaceChildren(chip('', 'All', all), ...STATUSES.map((s) => chip(s, s, counts[s] || 0)));
  }

  function updateButtons() {
    const names = [...selected];
    const byName = new Map((data ? data.items : []).map((t) => [t.name, t]));
    runBtn.disabled = !names.length;
    runBtn.textContent = names.length ? `Run selected (${names.length})` : 'Run selected';
    cancelBtn.disabled = !names.some((n) => isActive(byName.get(n)?.status));
    deleteBtn.disabled = !names.length;
  }

  function draw() {
    drawChips();
    const items = data.items || [];
    const all = el('input', { type: 'checkbox', title: 'select page', onchange: (e) => {
      for (const t of items) e.target.checked ? selected.add(t.name) : selected.delete(t.name);
      draw();
    } });
    all.checked = items.length > 0 && items.every((t) => selected.has(t.name));
    table.replaceChildren(
      el('thead', el('tr', el('th', all), el('th', 'Name'), el('th', 'Status'), el('th', 'Runs'),
        el('th', 'Created'), el('th', 'Kind'), el('th', ''))),
      el('tbody', items.length ? items.map((t) => el('tr', { dataset: { task: t.name, status: t.status } },
        el('td', el('input', { type: 'checkbox', checked: selected.has(t.name), onchange: (e) => {
          e.target.checked ? selected.add(t.name) : selected.delete(t.name);
          updateButtons();
        } })),
        el('td', t.pinned ? el('span.pin', { title: 'pinned' }, '📌 ') : null,
          el('a', { href: `#/tasks/${encodeURIComponent(t.name)}` }, t.name)),
        el('td', statusBadge(t.status)),
        el('td', String(t.run_index ?? 0)),
        el('td', t.created_at || ''),
        el('td.muted', t.task_kind || ''),
        el('td', isActive(t.status)
          ? el('button', { name: 'cancel', onclick: () => act([t.name], 'cancel') }, 'Cancel')
          : el('button', { name: 'run', onclick: () => act([t.name], 'run') }, t.run_index ? 'Rerun' : 'Run'))))
        : el('tr', el('td.muted', { colspan: 7 }, state.search || state.status ? 'No tasks match.' : 'No tasks yet: create some above.'))));
    info.textContent = `${data.total ?? items.length} task${data.total === 1 ? '' : 's'}`;
    const pages = Math.max(1, Math.ceil((data.total || 0) / PAGE_SIZE));
    pager.replaceChildren(
      el('button', { disabled: state.page <= 1, onclick: () => { state.page--; load(); } }, '‹ Prev'),
      el('span', `Page ${state.page} of ${pages}`),
      el('button', { disabled: !data.has_more, onclick: () => { state.page++; load(); } }, 'Next ›'));
    updateButtons();
  }

  function report(text, isError) {
    message.className = `task-message ${isError ? 'error' : 'muted'}`;
    message.textContent = text;
  }

  // One task: run (or rerun) outside the pool's batch, or cancel.
  async function act(names, what) {
    try {
      for (const n of names) await taskPost(taskPath(n, `/${what}`));
      report('', false);
    } catch (e) {
      if (isTokenError(e)) { onTokenError(e); return; }
      report(e.message, true);
    }
    load();
  }

  async function runSelected() {
    const names = [...selected];
    const w = Math.round(+workers.value);
    if (!(w >= 1 && w <= 32)) { report('workers must be a whole number from 1 to 32', true); return; }
    runBtn.disabled = true;
    try {
      const r = await taskPost('/api/tasks/batch/run', { task_names: names, max_workers: w });
      const skipped = (r.skipped || []).map((s) => `${s.name}: ${s.detail}`);
      report(`Started ${r.count} with ${w} worker${w === 1 ? '' : 's'}` + (skipped.length ? `; skipped ${skipped.join('; ')}` : ''), false);
      selected.clear();
    } catch (e) {
      if (isTokenError(e)) { onTokenError(e); return; }
      report(e.message, true);
    }
    load();
  }

  async function cancelSelected() {
    const byName = new Map(data.items.map((t) => [t.name, t]));
    await act([...selected].filter((n) => isActive(byName.get(n)?.status)), 'cancel');
  }

  async function deleteSelected() {
    const names = [...selected];
    if (!names.length || !confirm(`Move ${names.length} task(s) to the workspace's trash?`)) return;
    try {
      const r = await taskPost('/api/tasks/batch/delete', { task_names: names });
      const skipped = (r.skipped || []).map((s) => `${s.name}: ${s.detail}`);
      report(`Deleted ${r.count}` + (skipped.length ? `; skipped ${skipped.join('; ')}` : ''), false);
      selected.clear();
    } catch (e) {
      if (isTokenError(e)) { onTokenError(e); return; }
      report(e.message, true);
    }
    load();
  }

  return {
    element,
    load,
    // Selects exactly these tasks (e.g. the batch just created) and shows them.
    select(names) {
      selected.clear();
      for (const n of names) selected.add(n);
      state.status = '';
      state.search = '';
      search.value = '';
      state.page = 1;
      return load();
    },
    activeCount() {
      const c = data ? data.status_counts || {} : {};
      return (c.queued || 0) + (c.running || 0);
    },
    destroy() {
      destroyed = true;
      clearTimeout(searchTimer);
      if (controller) controller.abort();
    },
  };
}
