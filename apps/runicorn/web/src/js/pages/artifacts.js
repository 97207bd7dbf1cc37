// Artifacts: dedup stats, artifacts by type, versions with aliases and sizes, the files of a
// version with download links, and its lineage graph.
// #/artifacts?type=model   #/artifacts/<name>   #/artifacts/<name>/v<N>

import { get, enc, qs, token } from '../api.js';
import { drawLineage } from '../lineage.js';
import { el, fmtBytes, fmtTime, fmtNum, jsonBlock } from '../util.js';

const TYPES = ['', 'model', 'dataset', 'config', 'code', 'custom'];

export async function renderArtifacts(main, name, versionPart, route) {
  const root = el('div.artifacts-page');
  main.append(root);
  const type = route.query.get('type') || '';
  const version = versionPart && /^v\d+$/.test(versionPart) ? +versionPart.slice(1) : null;

  const statsBox = el('div.panel.stats');
  const listBox = el('div.list.artifact-list');
  const detailBox = el('div.artifact-detail');
  const typeSelect = el('select', { name: 'type', onchange: (e) => { location.hash = `#/artifacts${e.target.value ? `?type=${e.target.value}` : ''}`; } },
    TYPES.map((t) => el('option', { value: t, selected: t === type }, t || 'all types')));
  root.append(el('div.row', el('h1', 'Artifacts')), el('div.spacer'), statsBox, el('div.spacer'),
    el('div.two-col', el('div.panel', el('div.row', typeSelect), el('div.spacer'), listBox), detailBox));

  const [stats, artifacts] = await Promise.all([
    get('/api/artifacts/stats').catch((e) => ({ error: e.message })),
    get('/api/artifacts' + qs({ type })).catch((e) => ({ error: e.message })),
  ]);
  drawStats(statsBox, stats);

  if (artifacts.error) { listBox.append(el('div.error', artifacts.error)); return; }
  const list = Array.isArray(artifacts) ? artifacts : artifacts.artifacts || [];
  if (!list.length) listBox.append(el('div.muted', 'No artifacts.'));
  const byType = new Map();
  for (const a of list) { if (!byType.has(a.type)) byType.set(a.type, []); byType.get(a.type).push(a); }
  for (const [t, items] of [...byType].sort()) {
    listBox.append(el('h3', t));
    for (const a of items) {
      listBox.append(el('a', { href: `#/artifacts/${enc(a.name)}${type ? `?type=${type}` : ''}`, class: a.name === name ? 'active' : null, dataset: { artifact: a.name } },
        el('span', a.name), el('span.muted', `v${a.latest_version} · ${fmtBytes(a.size_bytes)}`)));
    }
  }

  if (!name) { detailBox.append(el('div.panel.muted', 'Select an artifact.')); return; }
  await drawArtifact(detailBox, name, version);
}

function drawStats(box, s) {
  if (s.error) { box.append(el('div.error', s.error)); return; }
  const stat = (v, label) => el('div.stat', el('b', v), el('span', label));
  box.append(
    stat(fmtNum(s.total_artifacts), 'artifacts'),
    stat(fmtNum(s.total_versions), 'versions'),
    stat(fmtBytes(s.total_size_bytes), 'logical bytes'),
    stat(fmtBytes(s.dedup_pool_size_bytes), 'stored bytes'),
    stat(fmtBytes(s.space_saved_bytes), 'saved by dedup'),
    stat(s.dedup_ratio != null ? `${(s.dedup_ratio * 100).toFixed(1)}%` : '', 'dedup ratio'));
  const types = Object.entries(s.by_type || {});
  if (types.length) {
    box.append(el('div.stat', el('span', types.map(([t, v]) => `${t}: ${v.count} (${v.versions} versions, ${fmtBytes(v.size_bytes)})`).join(' · '))));
  }
}

async function drawArtifact(box, name, version) {
  const versions = await get(`/api/artifacts/${enc(name)}/versions`);
  const vlist = Array.isArray(versions) ? versions : versions.versions || [];
  const current = version ?? (vlist.length ? Math.max(...vlist.map((v) => v.version)) : null);
  box.append(el('div.panel',
    el('h2', name),
    el('table.grid.versions-table',
      el('thead', el('tr', ['Version', 'Aliases', 'Size', 'Files', 'Created', 'Created by run', 'Status'].map((h) => el('th', h)))),
      el('tbody', vlist.map((v) => el('tr', { dataset: { version: v.version }, class: v.version === current ? 'current' : null },
        el('td', el('a', { href: `#/artifacts/${enc(name)}/v${v.version}` }, v.version === current ? el('b', `v${v.version}`) : `v${v.version}`)),
        el('td', (v.aliases || []).map((a) => el('span.alias', a))),
        el('td', fmtBytes(v.size_bytes)),
        el('td', String(v.num_files ?? '')),
        el('td', fmtTime(v.created_at)),
        el('td', v.created_by_run ? el('a.mono', { href: `#/runs/${enc(v.created_by_run)}` }, v.created_by_run) : ''),
        el('td', v.status || '')))))));
  if (current == null) return;

  const [detail, files, lineage] = await Promise.all([
    get(`/api/artifacts/${enc(name)}/v${current}`).catch((e) => ({ error: e.message })),
    get(`/api/artifacts/${enc(name)}/v${current}/files`).catch((e) => ({ error: e.message })),
    get(`/api/artifacts/${enc(name)}/v${current}/lineage` + qs({ max_depth: 3 })).catch((e) => ({ error: e.message })),
  ]);

  box.append(el('div.spacer'), el('div.panel.version-detail',
    el('h2', `${name}:v${current}`),
    detail.error ? el('div.error', detail.error) : el('div.cards',
      el('div', el('div.kv',
        el('div', 'type'), el('div', detail.type),
        el('div', 'size'), el('div', fmtBytes(detail.size_bytes)),
        el('div', 'files'), el('div', String(detail.num_files ?? '')),
        el('div', 'aliases'), el('div', (detail.aliases || []).map((a) => el('span.alias', a))),
        el('div', 'tags'), el('div', (detail.tags || []).map((t) => el('span.tag', t))),
        el('div', 'description'), el('div', detail.description || ''),
        el('div', 'digest'), el('div.mono', detail.manifest_digest || ''))),
      el('div', el('h3', 'Metadata'), jsonBlock(detail.metadata)))));

  const fileRows = files.error ? [] : files.files || [];
  box.append(el('div.spacer'), el('div.panel',
    el('h3', `Files${files.total_size != null ? ` · ${fmtBytes(files.total_size)}` : ''}`),
    files.error ? el('div.error', files.error) : el('table.grid.files-table',
      el('thead', el('tr', el('th', 'Path'), el('th', 'Size'), el('th', 'Digest'), el('th', ''))),
      el('tbody', fileRows.map((f) => el('tr',
        el('td.mono', f.path), el('td', fmtBytes(f.size)), el('td.mono.muted', String(f.digest || '').slice(0, 20)),
        el('td', downloadLink(name, current, f.path))))))));

  box.append(el('div.spacer'), el('div.panel.lineage-panel', el('h3', 'Lineage'),
    lineage.error ? el('div.error', lineage.error) : drawLineage(lineage)));
}

function downloadLink(name, version, path) {
  const href = `/api/artifacts/${enc(name)}/v${version}/download` + qs({ path });
  return el('a', { href, download: path.split('/').pop(), onclick: async (ev) => {
    // A plain link cannot send the bearer token; fetch the file and hand the browser a blob.
    if (!token()) return;
    ev.preventDefault();
    const res = await fetch(href, { headers: { Authorization: `Bearer ${token()}` } });
    if (!res.ok) { alert(`Download failed: ${res.status}`); return; }
    const url = URL.createObjectURL(await res.blob());
    const a = el('a', { href: url, download: path.split('/').pop() });
    document.body.append(a); a.click(); a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  } }, 'download');
}
