// Draws an artifact lineage answer ({nodes, edges}, artifacts_api.md) as an SVG graph: left to
// right along the edges (dataset -> uses -> run -> produces -> model), one column per distance
// from the root version, runs and artifacts as clickable boxes.

const NS = 'http://www.w3.org/2000/svg';
const W = 190, H = 46, GAP_X = 90, GAP_Y = 18, PAD = 20;

function svg(tag, attrs = {}, ...children) {
  const n = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v != null) n.setAttribute(k, v);
  for (const c of children) n.append(c);
  return n;
}

function truncate(s, n) { s = String(s ?? ''); return s.length > n ? `${s.slice(0, n - 1)}…` : s; }

// Column of each node: edges go one column to the right; the root is column 0.
export function layoutColumns(nodes, edges, rootId) {
  const col = new Map([[rootId, 0]]);
  for (let pass = 0; pass < nodes.length + 1; pass++) {
    let changed = false;
    for (const e of edges) {
      const s = col.get(e.source), t = col.get(e.target);
      if (s != null && t == null) { col.set(e.target, s + 1); changed = true; }
      else if (t != null && s == null) { col.set(e.source, t - 1); changed = true; }
    }
    if (!changed) break;
  }
  for (const n of nodes) if (!col.has(n.node_id)) col.set(n.node_id, 0);
  return col;
}

export function hrefFor(node) {
  // Run nodes are "run:<id>" (Runicorn's ids); the bare id is in metadata.run_id.
  if (node.node_type === 'run') return `#/runs/${encodeURIComponent((node.metadata && node.metadata.run_id) || node.node_id.replace(/^run:/, ''))}`;
  const m = /^(.*):v(\d+)$/.exec(node.node_id);
  return m ? `#/artifacts/${encodeURIComponent(m[1])}/v${m[2]}` : null;
}

export function drawLineage(data) {
  const nodes = data.nodes || [];
  const edges = data.edges || [];
  const rootId = data.root_artifact || (nodes[0] && nodes[0].node_id);
  const col = layoutColumns(nodes, edges, rootId);
  const minCol = Math.min(0, ...col.values());
  const columns = new Map();
  for (const n of nodes) {
    const c = col.get(n.node_id) - minCol;
    if (!columns.has(c)) columns.set(c, []);
    columns.get(c).push(n);
  }
  const pos = new Map();
  let maxRows = 1;
  for (const [c, list] of columns) {
    list.sort((a, b) => (a.node_type + a.node_id).localeCompare(b.node_type + b.node_id));
    maxRows = Math.max(maxRows, list.length);
  }
  const height = PAD * 2 + maxRows * H + (maxRows - 1) * GAP_Y;
  for (const [c, list] of columns) {
    const colHeight = list.length * H + (list.length - 1) * GAP_Y;
    list.forEach((n, i) => pos.set(n.node_id, {
      x: PAD + c * (W + GAP_X), y: (height - colHeight) / 2 + i * (H + GAP_Y),
    }));
  }
  const width = PAD * 2 + Math.max(1, columns.size) * W + Math.max(0, columns.size - 1) * GAP_X;

  const root = svg('svg', { class: 'lineage', viewBox: `0 0 ${width} ${height}`, width, height,
    role: 'img', 'aria-label': `lineage of ${rootId}` });
  root.style.maxWidth = `${width}px`;
  root.append(svg('defs', {}, svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 10, refY: 5,
    markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' }, svg('path', { d: 'M0,0 L10,5 L0,10 z', fill: '#9ca3af' }))));

  for (const e of edges) {
    const a = pos.get(e.source), b = pos.get(e.target);
    if (!a || !b) continue;
    const x1 = a.x + W, y1 = a.y + H / 2, x2 = b.x, y2 = b.y + H / 2;
    const dx = Math.max(30, (x2 - x1) / 2);
    root.append(svg('path', { class: `edge ${e.edge_type}`, d: `M${x1},${y1} C${x1 + dx},${y1} ${x2 - dx},${y2} ${x2},${y2}`,
      'marker-end': 'url(#arrow)', 'data-source': e.source, 'data-target': e.target, 'data-edge-type': e.edge_type }));
    const label = svg('text', { class: 'edge-label', x: (x1 + x2) / 2, y: (y1 + y2) / 2 - 4, 'text-anchor': 'middle' });
    label.textContent = e.edge_type;
    root.append(label);
  }

  for (const n of nodes) {
    const p = pos.get(n.node_id);
    const meta = n.metadata || {};
    const isRoot = n.node_id === rootId;
    const title = n.node_type === 'run' ? (meta.name ? `${meta.project ? `${meta.project} / ` : ''}${meta.name}` : n.label || n.node_id) : (n.label || n.node_id);
    const sub = n.node_type === 'run' ? `run ${meta.run_id || n.node_id}` : `${meta.type || 'artifact'}${meta.size != null ? ` · ${Math.round(meta.size / 1024)} KiB` : ''}`;
    const g = svg('g', { class: `node ${n.node_type}${isRoot ? ' root' : ''}`, transform: `translate(${p.x},${p.y})`,
      'data-node-id': n.node_id, 'data-node-type': n.node_type, tabindex: 0 });
    const t1 = svg('text', { x: 10, y: 19 }); t1.textContent = truncate(title, 26);
    const t2 = svg('text', { x: 10, y: 35, class: 'sub' }); t2.textContent = truncate(sub, 32);
    const tip = svg('title'); tip.textContent = `${n.node_type}: ${n.node_id}`;
    g.append(tip, svg('rect', { width: W, height: H, rx: 8 }), t1, t2);
    const href = hrefFor(n);
    if (href) {
      const go = () => { location.hash = href; };
      g.addEventListener('click', go);
      g.addEventListener('keydown', (ev) => { if (ev.key === 'Enter') go(); });
    }
    root.append(g);
  }
  return root;
}
