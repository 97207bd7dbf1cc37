// The same metric of several runs overlaid on one chart: a colour and a legend entry per run.
// #/compare?runs=<id>,<id>&metric=<name>

import { get, enc, qs, metricSeries } from '../api.js';
import { MetricChart } from '../chart.js';
import { el, colorFor, statusBadge, fmtNum } from '../util.js';

// Joins per-run (steps, values) on step: one x array (the union, ascending), one y array per run
// with null where that run has no point.
export function joinOnStep(parts) {
  const all = new Set();
  for (const p of parts) for (const s of p.steps) all.add(s);
  const steps = Float64Array.from(all).sort();
  const index = new Map();
  steps.forEach((s, i) => index.set(s, i));
  const values = parts.map((p) => {
    const out = new Array(steps.length).fill(null);
    for (let i = 0; i < p.steps.length; i++) {
      const v = p.values[i];
      if (!Number.isNaN(v)) out[index.get(p.steps[i])] = v;
    }
    return out;
  });
  return { steps, values };
}

export async function renderCompare(main, route) {
  const root = el('div.compare-page');
  main.append(root);
  const ids = (route.query.get('runs') || '').split(',').map((s) => s.trim()).filter(Boolean);
  const wanted = route.query.get('metric') || '';

  const setRoute = (runIds, metric) => {
    const p = new URLSearchParams();
    if (runIds.length) p.set('runs', runIds.join(','));
    if (metric) p.set('metric', metric);
    location.hash = `#/compare?${p.toString()}`;
  };

  root.append(el('h1', 'Compare runs'));
  const picker = el('select', { name: 'add-run' }, el('option', { value: '' }, 'add a run…'));
  picker.addEventListener('change', () => { if (picker.value) setRoute([...ids, picker.value], wanted); });
  get('/api/v2/experiments' + qs({ per_page: 200 })).then((d) => {
    for (const r of d.experiments || []) {
      if (!ids.includes(r.id)) picker.append(el('option', { value: r.id }, `${r.project} / ${r.name} · ${r.id}`));
    }
  }).catch(() => {});

  if (!ids.length) {
    root.append(el('p.muted', 'Select runs on the Runs page (checkboxes, then "Compare selected"), or add one here.'), picker);
    return;
  }

  const details = await Promise.all(ids.map((id) => get(`/api/runs/${enc(id)}`).catch((e) => ({ id, error: e.message }))));
  const good = details.filter((d) => !d.error);
  const namesOf = (d) => d.metric_names || (d.metric_info || []).map((m) => m.name);
  const union = [...new Set(good.flatMap(namesOf))].sort();
  const common = union.filter((m) => good.every((d) => namesOf(d).includes(m)));
  const metric = union.includes(wanted) ? wanted : (common[0] || union[0] || '');

  const metricSelect = el('select', { name: 'metric', onchange: (e) => setRoute(ids, e.target.value) },
    union.map((m) => el('option', { value: m, selected: m === metric }, common.includes(m) ? m : `${m} (some runs)`)));
  const smoothLabel = el('span.mono', '0.00');
  let chart = null;
  const smoothInput = el('input', { type: 'range', min: 0, max: 0.99, step: 0.01, value: 0, name: 'smoothing', oninput: (e) => {
    smoothLabel.textContent = (+e.target.value).toFixed(2);
    chart?.setOptions({ smoothing: +e.target.value });
  } });
  const logInput = el('input', { type: 'checkbox', name: 'log-scale', onchange: (e) => chart?.setOptions({ logY: e.target.checked }) });
  root.append(el('div.toolbar.row', el('label', 'metric ', metricSelect), el('label.row', 'smoothing ', smoothInput, smoothLabel),
    el('label.check', logInput, 'log scale'), el('span.grow'), picker));

  const legend = el('table.grid.compare-legend');
  legend.append(el('thead', el('tr', el('th', ''), el('th', 'Run'), el('th', 'Status'), el('th', metric ? `last ${metric}` : ''), el('th', ''))));
  legend.append(el('tbody', details.map((d, i) => el('tr', { dataset: { runId: d.id } },
    el('td', el('span.legend-swatch', { style: { background: colorFor(i) } })),
    el('td', d.error ? `${d.id} (${d.error})` : el('a', { href: `#/runs/${enc(d.id)}` }, `${d.project} / ${d.name}`), el('span.mono.muted', ` ${d.id}`)),
    el('td', d.error ? '' : statusBadge(d.status)),
    el('td', fmtNum((d.metric_info || []).find((m) => m.name === metric)?.last_value)),
    el('td', el('button', { onclick: () => setRoute(ids.filter((x) => x !== d.id), metric) }, 'remove'))))));

  const body = el('div.chart-body');
  const note = el('span.chart-note');
  root.append(el('div.spacer'), el('div.chart.compare-chart', { dataset: { metric } }, el('div.chart-title', el('span', metric), note), body),
    el('div.spacer'), legend);
  if (!metric) { body.textContent = 'These runs have no metrics.'; return; }

  const series = details.map((d, i) => ({ label: d.error ? d.id : `${d.name} · ${d.id.slice(-6)}`, color: colorFor(i) }));
  let zoom = null;
  chart = new MetricChart(body, series, { height: 360, onZoom: (r) => { zoom = r; load(); } });

  let seq = 0;
  async function load() {
    const my = ++seq;
    const points = chart.pixelWidth();
    const parts = await Promise.all(details.map(async (d) => {
      if (d.error || !namesOf(d).includes(metric)) return { steps: [], values: [] };
      const r = await metricSeries(d.id, [metric], { points, stepRange: zoom });
      return { steps: r.steps, values: r.series[metric] };
    }));
    if (my !== seq) return;
    const joined = joinOnStep(parts);
    chart.setData(joined.steps, null, joined.values, { zoomed: !!zoom });
    note.textContent = zoom ? `steps ${zoom[0]} – ${zoom[1]} (double-click to reset)` : '';
  }
  await load();
  return () => chart.destroy();
}
