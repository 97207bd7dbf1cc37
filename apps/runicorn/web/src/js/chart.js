// A line chart of one metric (one or more series sharing an x axis) on uPlot.
//
// The chart holds what the server sent (already downsampled to about one point per pixel) and
// derives what it draws from it: EMA smoothing, log scale (non-positive values become gaps), and
// the x coordinate (step, wall time, or seconds since the series' first point). Dragging selects an
// x range and calls onZoom([stepLo, stepHi]) so the page can re-query the server for that range at
// the chart's pixel width; a double click calls onZoom(null).
//
// Each chart element keeps its instance as `element._chart` so tests can read the drawn data.

const X_LABEL = { step: 'step', wall_time: 'wall time', relative_time: 'relative time (s)' };

function fmtSeconds(s) {
  if (s == null) return '';
  const a = Math.abs(s);
  if (a < 60) return `${+s.toFixed(2)}s`;
  if (a < 3600) return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

// TensorBoard's debiased exponential moving average; gaps stay gaps and do not reset the average.
export function smooth(values, weight) {
  if (!(weight > 0)) return values;
  const out = new Array(values.length);
  let last = 0, n = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v == null || !isFinite(v)) { out[i] = null; continue; }
    last = last * weight + (1 - weight) * v;
    n++;
    out[i] = last / (1 - Math.pow(weight, n));
  }
  return out;
}

function toPlain(arr) {
  const out = new Array(arr.length);
  for (let i = 0; i < arr.length; i++) {
    const v = arr[i];
    out[i] = v == null || Number.isNaN(v) ? null : v;
  }
  return out;
}

// Page-level timing for tests and docs/PERFORMANCE-web.md: when the first chart with data was drawn
// (ms since navigation start) and how many draws with data happened.
function markDrawn() {
  const t = (window.__runicornTiming ||= { firstChartMs: null, draws: 0 });
  if (t.firstChartMs == null) t.firstChartMs = performance.now();
  t.draws++;
}

export class MetricChart {
  // series: [{label, color}]; options: {xMode, logY, smoothing, onZoom, height}
  constructor(container, series, options = {}) {
    this.container = container;
    this.seriesDefs = series;
    this.xMode = options.xMode || 'step';
    this.logY = !!options.logY;
    this.smoothing = options.smoothing || 0;
    this.onZoom = options.onZoom || null;
    this.height = options.height || 220;
    this.steps = [];      // per point, for mapping a dragged x range back to steps
    this.times = null;    // wall times per point when the server sent them
    this.raw = series.map(() => []);
    this.zoomed = false;
    this.u = null;
    container._chart = this;
    this.resizeObserver = new ResizeObserver(() => this.resize());
    this.resizeObserver.observe(container);
  }

  // Pixel width of the plotting area: the number of points worth asking the server for.
  pixelWidth() {
    const w = this.u ? this.u.bbox.width / devicePixelRatio : this.container.clientWidth - 60;
    return Math.max(100, Math.round(w || 600));
  }

  // steps: numbers; times: wall times (seconds) or null; values: one array per series (NaN/null = gap).
  setData(steps, times, values, { zoomed = false } = {}) {
    this.steps = Array.from(steps);
    this.times = times ? Array.from(times) : null;
    this.raw = values.map(toPlain);
    this.zoomed = zoomed;
    this.redraw();
  }

  // Appends live points (steps ascending, after the last one held).
  append(steps, times, values) {
    if (this.zoomed || !steps.length) return;
    const last = this.steps.length ? this.steps[this.steps.length - 1] : -Infinity;
    let from = 0;
    while (from < steps.length && steps[from] <= last) from++;
    if (from === steps.length) return;
    for (let i = from; i < steps.length; i++) this.steps.push(steps[i]);
    if (this.times) for (let i = from; i < steps.length; i++) this.times.push(times ? times[i] : null);
    values.forEach((vals, s) => {
      for (let i = from; i < steps.length; i++) this.raw[s].push(vals[i] == null || Number.isNaN(vals[i]) ? null : vals[i]);
    });
    this.redraw();
  }

  pointCount() { return this.steps.length; }

  setOptions({ xMode, logY, smoothing }) {
    const rebuild = (xMode !== undefined && xMode !== this.xMode) || (logY !== undefined && logY !== this.logY);
    if (xMode !== undefined) this.xMode = xMode;
    if (logY !== undefined) this.logY = logY;
    if (smoothing !== undefined) this.smoothing = smoothing;
    if (rebuild && this.u) { this.u.destroy(); this.u = null; }
    this.redraw();
  }

  xValues() {
    if (this.xMode === 'step' || !this.times) return this.steps;
    if (this.xMode === 'wall_time') return this.times;
    const t0 = this.times.find((t) => t != null && isFinite(t)) ?? 0;
    return this.times.map((t) => (t == null ? null : t - t0));
  }

  // What uPlot draws: [x, series...], after smoothing and log-scale masking.
  drawnData() {
    const ys = this.raw.map((vals) => {
      let v = smooth(vals, this.smoothing);
      if (this.logY) v = v.map((y) => (y != null && y > 0 ? y : null));
      return v;
    });
    return [this.xValues(), ...ys];
  }

  redraw() {
    const data = this.drawnData();
    if (!this.u) { this.build(data); return; }
    this.u.setData(data, true);
  }

  build(data) {
    const uPlot = window.uPlot;
    if (!uPlot) {
      this.container.textContent = 'uPlot is missing from the web root (run scripts/setup-web.sh and rebuild).';
      return;
    }
    const timeX = this.xMode === 'wall_time' && !!this.times;
    const opts = {
      width: Math.max(200, this.container.clientWidth),
      height: this.height,
      legend: { show: this.seriesDefs.length > 1, live: true },
      cursor: { drag: { x: true, y: false, setScale: false }, points: { size: 5 } },
      scales: {
        x: { time: timeX },
        y: this.logY ? { distr: 3 } : {},
      },
      axes: [
        {
          label: X_LABEL[timeX || this.xMode !== 'wall_time' ? this.xMode : 'step'], labelSize: 18, size: 36,
          values: this.xMode === 'relative_time' && this.times ? (u, ticks) => ticks.map(fmtSeconds) : undefined,
        },
        { size: 56 },
      ],
      series: [
        { label: X_LABEL[this.xMode] },
        ...this.seriesDefs.map((s) => ({
          label: s.label, stroke: s.color, width: 1.5, spanGaps: true, points: { show: false },
        })),
      ],
      hooks: {
        setSelect: [(u) => this.onSelect(u)],
        draw: [(u) => { if (u.data[0].length) markDrawn(); }],
      },
    };
    this.container.textContent = '';
    this.u = new uPlot(opts, data, this.container);
    this.u.over.addEventListener('dblclick', () => { if (this.onZoom) this.onZoom(null); });
  }

  onSelect(u) {
    const { left, width } = u.select;
    if (width < 3) return;
    const lo = u.posToVal(left, 'x');
    const hi = u.posToVal(left + width, 'x');
    u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
    if (!this.onZoom) return;
    // Map the x range to a step range through the points held (x is monotonic in step for step
    // and, for one writer, for time as well).
    const xs = this.xValues();
    let sLo = Infinity, sHi = -Infinity;
    for (let i = 0; i < xs.length; i++) {
      if (xs[i] != null && xs[i] >= lo && xs[i] <= hi) {
        sLo = Math.min(sLo, this.steps[i]);
        sHi = Math.max(sHi, this.steps[i]);
      }
    }
    if (this.xMode === 'step') { sLo = Math.ceil(lo); sHi = Math.floor(hi); }
    if (!(sHi >= sLo)) return;
    this.onZoom([sLo, sHi]);
  }

  resize() {
    if (!this.u) return;
    const w = Math.max(200, this.container.clientWidth);
    if (Math.abs(w - this.u.width) > 1) this.u.setSize({ width: w, height: this.height });
  }

  destroy() {
    this.resizeObserver.disconnect();
    if (this.u) this.u.destroy();
    this.u = null;
    delete this.container._chart;
  }
}
