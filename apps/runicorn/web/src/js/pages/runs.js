// Runs table (server-side filter, sort and pagination through GET /api/v2/experiments), selection
// for comparison and soft delete; the recycle bin with restore.

import { get, post, qs } from '../api.js';
import { replaceQuery } from '../app.js';
import { el, fmtTime, fmtDuration, fmtNum, statusBadge, debounce } from '../util.js';

const STATUSES = ['running', 'finished', 'failed', 'interrupted'];
const SORTABLE = { created: 'created_at', updated: 'updated_at', best: 'best_metric_value', status: 'status' };

function stateFromRoute(route) {
  const q = route.query;
  return {
    project: q.get('project') || '',
    status: (q.get('status') || '').split(',').filter(Boolean),
    tags: q.get('tags') || '',
    search: q.get('search') || '',
    order_by: q.get('order_by') || 'created_at',
    order_desc: q.get('order_desc') !== 'false',
    page: Math.max(1, +q.get('page') || 1),
    per_page: Math.min(1000, Math.max(1, +q.get('per_page') || 50)),
  };
}

export async function renderRuns(main, route) {
  const state = stateFromRoute(route);
  const selected = new Set();
  const root = el('div');
  main.append(root);

  const projectInput = el('input', { type: 'text', placeholder: 'project', list: 'projects-list', value: state.project, name: 'project' });
  const projectList = el('datalist#projects-list');
  const tagsInput = el('input', { type: 'text', placeholder: 'tags (a,b)', value: state.tags, name: 'tags' });
  const searchInput = el('input', { type: 'search', placeholder: 'search id, project, name, tag', value: state.search, name: 'search', size: 30 });
  const statusChecks = STATUSES.map((s) => el('label.check', el('input', { type: 'checkbox', value: s, checked: state.status.includes(s), name: 'status' }), statusBadge(s)));
  const compareBtn = el('button.primary', { disabled: true, onclick: () => { location.hash = `#/compare?runs=${[...selected].join(',')}`; } }, 'Compare selected');
  const deleteBtn = el('button.danger', { disabled: true, onclick: onDelete }, 'Delete selected');
  const info = el('span.muted');
  const table = el('table.grid.runs-table');
  const pager = el('div.pager');
  const error = el('div.error');

  root.append(
    el('div.row', el('h1', 'Runs'), el('span.grow'), info),
    el('div.panel.row.filters', projectInput, projectList, tagsInput, searchInput, ...statusChecks,
      el('span.grow'), compareBtn, deleteBtn, el('a', { href: '#/recycle-bin' }, 'Recycle bin')),
    error, el('div.spacer'), table, pager);

  get('/api/projects').then((r) => {
    for (const p of r.projects || []) projectList.append(el('option', { value: typeof p === 'string' ? p : p.name }));
  }).catch(() => {});

  const readFilters = () => {
    state.project = projectInput.value.trim();
    state.tags = tagsInput.value.trim();
    state.search = searchInput.value.trim();
    state.status = statusChecks.map((l) => l.querySelector('input')).filter((i) => i.checked).map((i) => i.value);
    state.page = 1;
    load();
  };
  const debounced = debounce(readFilters, 250);
  for (const i of [projectInput, tagsInput, searchInput]) i.addEventListener('input', debounced);
  for (const l of statusChecks) l.querySelector('input').addEventListener('change', readFilters);

  let controller = null;
  let timer = 0;
  async function load() {
    replaceQuery({
      project: state.project, status: state.status.join(','), tags: state.tags, search: state.search,
      order_by: state.order_by === 'created_at' ? '' : state.order_by,
      order_desc: state.order_desc ? '' : 'false',
      page: state.page > 1 ? state.page : '', per_page: state.per_page !== 50 ? state.per_page : '',
    });
    if (controller) controller.abort();
    controller = new AbortController();
    let data;
    try {
      data = await get('/api/v2/experiments' + qs({
        project: state.project, status: state.status, tags: state.tags, search: state.search,
        order_by: state.order_by, order_desc: state.order_desc, page: state.page, per_page: state.per_page,
      }), { signal: controller.signal });
    } catch (e) {
      if (e.name !== 'AbortError') error.textContent = e.message;
      return;
    }
    error.textContent = '';
    drawTable(data);
    clearTimeout(timer);
    // Keep running runs' status and duration current.
    if ((data.experiments || []).some((r) => r.status === 'running')) timer = setTimeout(load, 5000);
  }

  function header(label, key) {
    const field = SORTABLE[key];
    if (!field) return el('th', label);
    const th = el('th.sortable', { onclick: () => {
      if (state.order_by === field) state.order_desc = !state.order_desc;
      else { state.order_by = field; state.order_desc = true; }
      load();
    } }, label);
    if (state.order_by === field) th.classList.add('sorted', ...(state.order_desc ? [] : ['asc']));
    return th;
  }

  function updateButtons() {
    compareBtn.disabled = selected.size < 1;
    deleteBtn.disabled = selected.size < 1;
    compareBtn.textContent = selected.size ? `Compare selected (${selected.size})` : 'Compare selected';
  }

  function drawTable(data) {
    const runs = data.experiments || [];
    const all = el('input', { type: 'checkbox', title: 'select page', onchange: (e) => {
      for (const r of runs) e.target.checked ? selected.add(r.id) : selected.delete(r.id);
      drawTable(data);
      updateButtons();
    } });
    all.checked = runs.length > 0 && runs.every((r) => selected.has(r.id));
    const now = Date.now() / 1000;
    table.replaceChildren(
      el('thead', el('tr', el('th', all), header('Project', 'project'), header('Name', 'name'),
        header('Status', 'status'), header('Created', 'created'), header('Duration', 'duration'),
        header('Best metric', 'best'), header('Tags', 'tags'), header('Id', 'id'))),
      el('tbody', runs.map((r) => {
        const cb = el('input', { type: 'checkbox', checked: selected.has(r.id), onchange: (e) => {
          e.target.checked ? selected.add(r.id) : selected.delete(r.id);
          updateButtons();
        } });
        const end = r.ended_at ?? (r.status === 'running' ? now : r.updated_at);
        const created = r.created_at ?? r.created_time;
        return el('tr', { dataset: { runId: r.id, status: r.status } },
          el('td', cb),
          el('td', r.project || ''),
          el('td', el('a', { href: `#/runs/${encodeURIComponent(r.id)}` }, r.name || r.id)),
          el('td', statusBadge(r.status), r.exit_reason ? el('span.muted', ` ${r.exit_reason}`) : null),
          el('td', fmtTime(created)),
          el('td', fmtDuration(end - created)),
          el('td', r.best_metric_name ? `${r.best_metric_name} = ${fmtNum(r.best_metric_value)}` : ''),
          el('td.wrap', (r.tags || []).map((t) => el('span.tag', t))),
          el('td.mono.muted', r.id));
      })));
    if (!runs.length) table.append(el('tbody', el('tr', el('td.muted', { colspan: 9 }, 'No runs match.'))));
    info.textContent = `${data.total ?? runs.length} runs` + (data.query_time_ms != null ? ` · ${fmtNum(data.query_time_ms)} ms` : '');
    const pages = Math.max(1, Math.ceil((data.total || 0) / state.per_page));
    const perPage = el('select', { onchange: (e) => { state.per_page = +e.target.value; state.page = 1; load(); } },
      [20, 50, 100, 200].map((n) => el('option', { value: n, selected: n === state.per_page }, `${n} / page`)));
    pager.replaceChildren(perPage,
      el('button', { disabled: !data.has_prev && state.page <= 1, onclick: () => { state.page--; load(); } }, '‹ Prev'),
      el('span', `Page ${state.page} of ${pages}`),
      el('button', { disabled: !data.has_next, onclick: () => { state.page++; load(); } }, 'Next ›'));
  }

  async function onDelete() {
    const ids = [...selected];
    if (!ids.length || !confirm(`Move ${ids.length} run(s) to the recycle bin?`)) return;
    try {
      for (let i = 0; i < ids.length; i += 100) await post('/api/runs/soft-delete', { run_ids: ids.slice(i, i + 100) });
    } catch (e) { error.textContent = e.message; }
    selected.clear();
    updateButtons();
    load();
  }

  await load();
  return () => { clearTimeout(timer); if (controller) controller.abort(); };
}

export async function renderRecycleBin(main) {
  const root = el('div');
  main.append(root);
  const table = el('table.grid.recycle-table');
  const error = el('div.error');
  const selected = new Set();
  const restoreBtn = el('button.primary', { disabled: true, onclick: () => restore([...selected]) }, 'Restore selected');
  root.append(el('div.row', el('h1', 'Recycle bin'), el('span.grow'), restoreBtn), error, el('div.spacer'), table);

  async function restore(ids) {
    if (!ids.length) return;
    try { await post('/api/recycle-bin/restore', { run_ids: ids }); } catch (e) { error.textContent = e.message; }
    selected.clear();
    await load();
  }

  async function load() {
    let data;
    try { data = await get('/api/recycle-bin'); } catch (e) { error.textContent = e.message; return; }
    const runs = data.deleted_runs || [];
    restoreBtn.disabled = true;
    table.replaceChildren(
      el('thead', el('tr', el('th', ''), el('th', 'Project'), el('th', 'Name'), el('th', 'Status'),
        el('th', 'Created'), el('th', 'Deleted'), el('th', 'Id'), el('th', ''))),
      el('tbody', runs.length ? runs.map((r) => el('tr', { dataset: { runId: r.id } },
        el('td', el('input', { type: 'checkbox', onchange: (e) => {
          e.target.checked ? selected.add(r.id) : selected.delete(r.id);
          restoreBtn.disabled = !selected.size;
        } })),
        el('td', r.project), el('td', r.name), el('td', statusBadge(r.original_status)),
        el('td', fmtTime(r.created_time)), el('td', fmtTime(r.deleted_at)), el('td.mono.muted', r.id),
        el('td', el('button', { onclick: () => restore([r.id]) }, 'Restore'))))
        : el('tr', el('td.muted', { colspan: 8 }, 'The recycle bin is empty.'))));
  }
  await load();
}
