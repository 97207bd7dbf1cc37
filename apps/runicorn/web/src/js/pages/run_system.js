// The run page's "System" section: per-node system metrics (docs/SYSTEM.md "Per-node system
// metrics"). Each host that sampled the run wrote its own journal stream "system:<host>"; this
// draws one group of charts per host from GET /api/runs/{id}/stream-points?metric=M&stream=S,
// against wall time so hosts line up. Per-core CPU series are left out (one chart per core on a
// 128-core node would bury the rest); the host's overall CPU percent is shown.

import { get, enc } from '../api.js';
import { MetricChart } from '../chart.js';
import { el, colorFor } from '../util.js';

export const SYSTEM_STREAM_PREFIX = 'system:';
const REFRESH_MS = 5000;

// Chart groups: a title and the metric names of its series (`gpu*` patterns expand per GPU).
const GROUPS = [
  { title: 'CPU %', metrics: ['system/cpu_percent'] },
  { title: 'Memory %', metrics: ['system/memory_percent', 'system/swap_percent'] },
  { title: 'Load (1 min)', metrics: ['system/load_1m'] },
  { title: 'Disk I/O (bytes/s)', metrics: ['system/disk_read_bytes_per_second', 'system/disk_write_bytes_per_second'] },
  { title: 'Network (bytes/s)', metrics: ['system/network_rx_bytes_per_second', 'system/network_tx_bytes_per_second'] },
  { title: 'Disk used %', metrics: ['system/disk_percent'] },
  { title: 'GPU utilization %', gpu: 'utilization_percent' },
  { title: 'GPU memory %', gpu: 'memory_percent' },
  { title: 'GPU temperature °C', gpu: 'temperature_celsius' },
  { title: 'GPU power W', gpu: 'power_watts' },
];

// The run's system streams (host names), or [] when it has none.
export async function systemStreams(runId) {
  let d;
  try { d = await get(`/api/runs/${enc(runId)}/streams`); } catch { return []; }
  return (d.streams || []).map((s) => s.stream).filter((s) => s.startsWith(SYSTEM_STREAM_PREFIX));
}

export const isSystemMetric = (name) => name.startsWith('system/');

// Draws the section into `container` for `streams`; `names` are the run's metric names.
// Returns a dispose function. `isRunning()` says whether to keep refreshing.
export function renderSystemSection(container, runId, streams, names, isRunning) {
  const charts = [];
  let disposed = false;
  let timer = null;
  const nameSet = new Set(names);
  const gpuNames = (what) => names.filter((n) => new RegExp(`^system/gpu\\d+_${what}$`).test(n)).sort();
  const groups = GROUPS.map((g) => ({ title: g.title, metrics: g.gpu ? gpuNames(g.gpu) : g.metrics.filter((m) => nameSet.has(m)) }))
    .filter((g) => g.metrics.length);

  container.append(el('h2', 'System'));
  for (const stream of streams) {
    const host = stream.slice(SYSTEM_STREAM_PREFIX.length);
    const grid = el('div.charts');
    container.append(el('h3.system-host', { dataset: { stream } }, host), grid);
    for (const g of groups) {
      const note = el('span.chart-note');
      const body = el('div.chart-body');
      grid.append(el('div.chart', { dataset: { metric: g.title, stream } }, el('div.chart-title', el('span', g.title), note), body));
      const chart = new MetricChart(body, g.metrics.map((m, i) => ({ label: m.replace(/^system\//, ''), color: colorFor(i) })),
        { xMode: 'wall_time', height: 160 });
      charts.push({ chart, note, stream, metrics: g.metrics });
    }
  }

  // One host's series joined on step (every metric of a sample shares its step and wall time).
  async function load(entry) {
    const answers = await Promise.all(entry.metrics.map((m) =>
      get(`/api/runs/${enc(runId)}/stream-points?metric=${enc(m)}&stream=${enc(entry.stream)}`).catch(() => null)));
    if (disposed) return;
    const byStep = new Map();
    answers.forEach((a, s) => {
      if (!a) return;
      const r = a.rows;
      for (let i = 0; i < r.step.length; i++) {
        let row = byStep.get(r.step[i]);
        if (!row) byStep.set(r.step[i], (row = { time: r.wall_time[i], values: new Array(entry.metrics.length).fill(null) }));
        row.values[s] = r.value[i];
      }
    });
    const steps = [...byStep.keys()].sort((a, b) => a - b);
    entry.chart.setData(steps, steps.map((s) => byStep.get(s).time),
      entry.metrics.map((_, s) => steps.map((st) => byStep.get(st).values[s])));
    entry.note.textContent = answers.some((a) => !a) ? 'some series missing' : `${steps.length} samples`;
  }

  async function refresh() {
    await Promise.all(charts.map((c) => load(c).catch((e) => { c.note.textContent = `error: ${e.message}`; })));
    if (!disposed && isRunning()) timer = setTimeout(refresh, REFRESH_MS);
  }
  refresh();

  return () => {
    disposed = true;
    clearTimeout(timer);
    for (const c of charts) c.chart.destroy();
  };
}
