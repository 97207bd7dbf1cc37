// Hash router: every view is a bookmarkable `#/...` link and the back button walks them.
//
//   #/runs?project=&status=&tags=&search=&order_by=&order_desc=&page=&per_page=
//   #/runs/<run_id>
//   #/compare?runs=<id>,<id>&metric=<name>
//   #/artifacts?type=<type>   #/artifacts/<name>   #/artifacts/<name>/v<N>
//   #/recycle-bin
//   #/tasks?status=&search=&page=   #/tasks/<task name>
//   #/training   #/training/<task_id>   (the training service API's jobs)
//
// A page is a function (main, route) -> cleanup | undefined; the cleanup runs before the next
// page renders (it closes WebSockets, timers and charts).

import { renderRuns, renderRecycleBin } from './pages/runs.js';
import { renderRun } from './pages/run.js';
import { renderCompare } from './pages/compare.js';
import { renderArtifacts } from './pages/artifacts.js';
import { renderTasks } from './pages/tasks.js';
import { renderTask } from './pages/tasks_detail.js';
import { renderTraining } from './pages/training.js';
import { tokenFromUrl } from './api.js';
import { el } from './util.js';

export function parseHash(hash = location.hash) {
  const h = hash.replace(/^#/, '') || '/runs';
  const q = h.indexOf('?');
  const path = q < 0 ? h : h.slice(0, q);
  const query = new URLSearchParams(q < 0 ? '' : h.slice(q + 1));
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  return { path, parts, query };
}

// Replaces the query of the current route without adding a history entry or re-rendering.
export function replaceQuery(params) {
  const { path } = parseHash();
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== '' && v != null) p.set(k, v);
  const s = p.toString();
  history.replaceState(null, '', `#${path}${s ? `?${s}` : ''}`);
}

let cleanup = null;
let renderSeq = 0;

async function render() {
  const seq = ++renderSeq;
  if (cleanup) { try { cleanup(); } catch (e) { console.error(e); } }
  cleanup = null;
  const main = document.getElementById('main');
  main.replaceChildren();
  const route = parseHash();
  const [section, a, b] = route.parts;
  for (const link of document.querySelectorAll('[data-nav]')) {
    link.classList.toggle('active', link.dataset.nav === (section || 'runs'));
  }
  let page;
  if (!section || section === 'runs') page = a ? (m) => renderRun(m, a, route) : (m) => renderRuns(m, route);
  else if (section === 'compare') page = (m) => renderCompare(m, route);
  else if (section === 'artifacts') page = (m) => renderArtifacts(m, a, b, route);
  else if (section === 'recycle-bin') page = (m) => renderRecycleBin(m, route);
  else if (section === 'tasks') page = a ? (m) => renderTask(m, a) : (m) => renderTasks(m, route);
  else if (section === 'training') page = (m) => renderTraining(m, a);
  else page = (m) => { m.append(el('div.error', `No page at #${route.path}`)); };
  try {
    const c = await page(main);
    if (seq !== renderSeq) { if (typeof c === 'function') c(); return; }
    cleanup = typeof c === 'function' ? c : null;
  } catch (e) {
    console.error(e);
    if (seq === renderSeq) main.append(el('div.error', `Error: ${e.message}`));
  }
}

window.addEventListener('hashchange', render);
// The viewer's printed `/?token=` URL is the way into the task runner: land on its page.
if (!location.hash) history.replaceState(null, '', tokenFromUrl ? '#/tasks' : '#/runs');
render();
