// The generator of the Tasks page: a YAML template (or, in the shell workspace, a shell payload)
// expanded by the server into a batch of tasks (Pyruns' grammar: `a | b` product, `(a | b)` zip,
// `start:stop[:step]` ranges). Every edit asks /api/generator/preview (debounced; an older answer
// never overwrites a newer one) for the count and the first configs; Create posts the same text
// to /api/generator/create, which writes the whole batch or nothing.

import { el, debounce } from '../util.js';
import { taskPost, isTokenError } from './tasks_api.js';

const PREVIEW_DEBOUNCE_MS = 300;

// workspace: GET /api/workspace; onCreated(names) after a successful create;
// onTokenError(e) when the server wants the token. Returns {element, destroy}.
export function createGenerator(workspace, { onCreated, onTokenError }) {
  const shell = workspace.workspace_kind === 'shell';
  const modeSelect = el('select', { name: 'generator-mode' },
    shell ? el('option', { value: 'shell' }, 'Shell command')
      : [el('option', { value: 'form' }, 'Batch (grid)'), el('option', { value: 'yaml' }, 'Single task')]);
  const editor = el('textarea.mono.generator-editor', {
    name: 'generator-text', rows: 10, spellcheck: false,
    placeholder: shell ? 'echo hello' : 'lr: 0.1 | 0.01\nseed: (1 | 2)\nepochs: 10:30:10',
  });
  const prefix = el('input', { type: 'text', name: 'name-prefix', placeholder: 'name prefix (task)', size: 24 });
  const stamp = el('input', { type: 'checkbox', name: 'append-timestamp', checked: true });
  const count = el('span.generator-count.muted', '…');
  const previewList = el('ol.generator-preview');
  const error = el('div.error.generator-error');
  const createBtn = el('button.primary', { name: 'create-tasks', disabled: true, onclick: create }, 'Create');
  const created = el('div.muted.generator-created');

  const element = el('div.panel.generator',
    el('div.row', el('h2', 'New tasks'), el('span.grow'), el('label', 'mode ', modeSelect)),
    el('div.generator-body',
      el('div.generator-edit', editor,
        el('div.row', prefix, el('label.check', stamp, 'append timestamp'), el('span.grow'), count, createBtn),
        error, created),
      el('div.generator-side', el('h3', 'Preview'), previewList)));

  let seq = 0;        // the newest preview request; older answers are dropped
  let lastCount = 0;
  let destroyed = false;

  function body() {
    const mode = modeSelect.value;
    return {
      mode,
      yaml_text: mode === 'shell' ? '' : editor.value,
      shell_text: mode === 'shell' ? editor.value : '',
      name_prefix: prefix.value.trim(),
      append_timestamp: stamp.checked,
    };
  }

  async function preview() {
    const my = ++seq;
    createBtn.disabled = true;
    count.textContent = '…';
    let p;
    try {
      const { name_prefix, append_timestamp, ...b } = body();
      p = await taskPost('/api/generator/preview', b);
    } catch (e) {
      if (my !== seq || destroyed) return;
      if (isTokenError(e)) { onTokenError(e); return; }
      lastCount = 0;
      count.textContent = 'invalid';
      count.dataset.count = '0';
      error.textContent = e.message;
      previewList.replaceChildren();
      return;
    }
    if (my !== seq || destroyed) return;
    error.textContent = '';
    lastCount = p.count;
    count.dataset.count = String(p.count);
    count.textContent = `${p.count} task${p.count === 1 ? '' : 's'}`;
    previewList.replaceChildren(...(p.items || []).map((it) => el('li',
      el('div', it.preview ? el('b', it.preview) : el('span.muted', `#${it.index + 1}`)),
      el('pre.mono', it.config))));
    if (p.count > (p.items || []).length) previewList.append(el('li.muted', `… and ${p.count - p.items.length} more`));
    createBtn.disabled = p.count < 1;
  }
  const previewSoon = debounce(preview, PREVIEW_DEBOUNCE_MS);
  editor.addEventListener('input', previewSoon);
  modeSelect.addEventListener('change', preview);

  async function create() {
    if (!lastCount) return;
    createBtn.disabled = true;
    error.textContent = '';
    try {
      const r = await taskPost('/api/generator/create', body());
      const names = (r.items || []).map((i) => i.name);
      created.textContent = `Created ${r.count}: ${names.slice(0, 5).join(', ')}${names.length > 5 ? ', …' : ''}`;
      onCreated(names);
    } catch (e) {
      if (isTokenError(e)) { onTokenError(e); return; }
      error.textContent = e.message;
    } finally {
      if (!destroyed) createBtn.disabled = lastCount < 1;
    }
  }

  // Start from the workspace's template: with an empty yaml_text the server expands
  // config_default.yaml; a template without batch syntax comes back as its one config.
  async function start() {
    if (shell) { await preview(); return; }
    try {
      const p = await taskPost('/api/generator/preview', { mode: 'form', yaml_text: '' });
      if (!destroyed && !editor.value && p.count === 1 && p.items.length) editor.value = p.items[0].config;
    } catch (e) {
      if (isTokenError(e)) { onTokenError(e); return; }
      // No template yet: the editor starts empty.
    }
    if (!destroyed) await preview();
  }
  start();

  return { element, destroy() { destroyed = true; } };
}
