// A task's tracks (pyruns.track: `tracks[run-1][key]` = the values in call order, no step axis)
// as charts with the run page's chart code: one chart per key, one series per run, x = the
// value's index in its run. Pyruns never draws these.

import { MetricChart } from '../chart.js';
import { el, colorFor } from '../util.js';

// tracks: the task's `tracks` array. Returns {element, destroy()}.
export function renderTracks(tracks) {
  const byKey = new Map();  // key -> [{run, values}]
  (tracks || []).forEach((perRun, i) => {
    for (const [key, values] of Object.entries(perRun || {})) {
      if (!Array.isArray(values) || !values.length) continue;
      if (!byKey.has(key)) byKey.set(key, []);
      byKey.get(key).push({ run: i + 1, values });
    }
  });
  const grid = el('div.charts.task-tracks');
  const charts = [];
  if (!byKey.size) grid.append(el('div.muted', 'No tracks (pyruns.track) in any run.'));
  for (const [key, runs] of [...byKey].sort((a, b) => a[0].localeCompare(b[0]))) {
    const body = el('div.chart-body');
    const n = Math.max(...runs.map((r) => r.values.length));
    grid.append(el('div.chart', { dataset: { metric: key } },
      el('div.chart-title', el('span', key), el('span.chart-note', `${runs.length} run${runs.length === 1 ? '' : 's'}, ${n} pts`)),
      body));
    const chart = new MetricChart(body, runs.map((r) => ({ label: `run ${r.run}`, color: colorFor(r.run - 1) })));
    const steps = Array.from({ length: n }, (_, i) => i);
    // null (a NaN/Inf stored as null) stays a gap.
    chart.setData(steps, null, runs.map((r) => steps.map((i) => (typeof r.values[i] === 'number' ? r.values[i] : null))));
    charts.push(chart);
  }
  return { element: grid, destroy() { for (const c of charts) c.destroy(); } };
}
