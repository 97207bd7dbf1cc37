// One run: header, config / summary / environment, one chart per metric, live log tail.
//
// Charts ask the server for about one point per horizontal pixel. Dragging on any chart zooms every
// chart to that step range and re-queries the server for it (full resolution where the range is
// small). While the run is running, new points are fetched incrementally (only steps after the
// last one held, one request for all metrics) and appended; a chart that has grown past ~3 points
// per pixel is re-downsampled on its own.

import { get, enc, metricSeries, wsUrl, mediaBlob } from '../api.js';
import { MetricChart } from '../chart.js';
import { el, fmtTime, fmtDuration, fmtNum, statusBadge, jsonBlock, colorFor, debounce } from '../util.js';
import { systemStreams, isSystemMetric, renderSystemSection } from './run_system.js';

const LIVE_POLL_MS = 3000;

export async function renderRun(main, runId, route) {
  const root = el('div.run-page');
  main.append(root);
  // A run that was just created may not be indexed yet: retry a 404 for a few seconds.
  let detail;
  for (let attempt = 0; ; attempt++) {
    try { detail = await get(`/api/runs/${enc(runId)}`); break; } catch (e) {
      if (e.status !== 404 || attempt >= 10) throw e;
      root.replaceChildren(el('div.muted', `Run ${runId} not found (yet); retrying…`));
      await new Promise((r) => setTimeout(r, 500));
      if (!root.isConnected) return undefined;
    }
  }
  root.replaceChildren();
  const allMetrics = detail.metric_names || (detail.metric_info || []).map((m) => m.name);
  // Per-host system metrics (system:<host> streams) are charted per host in their own section.
  const sysStreams = await systemStreams(runId);
  const inMainGrid = (m) => !sysStreams.length || !isSystemMetric(m);
  const metrics = allMetrics.filter(inMainGrid);
  const state = {
    xMode: route.query.get('x') || 'step',
    smoothing: +(route.query.get('smooth') || 0),
    logY: route.query.get('log') === '1',
    filter: '',
    zoom: null,
    status: detail.status,
  };
  const charts = new Map();  // metric -> {chart, box, timeOffset}
  let disposed = false;
  const aborts = new Set();

  // ---- header and info cards -------------------------------------------------------------
  const statusEl = el('span', statusBadge(detail.status));
  const durationEl = el('span.muted');
  const updateHeader = (d) => {
    statusEl.replaceChildren(statusBadge(d.status));
    const end = d.ended_at ?? (d.status === 'running' ? Date.now() / 1000 : d.updated_at);
    durationEl.textContent = `duration ${fmtDuration(end - (d.created_at ?? d.created_time))}`;
  };
  updateHeader(detail);
  const artifactLinks = (refs) => (refs || []).map((a) =>
    el('div', el('a', { href: `#/artifacts/${enc(a.name)}/v${a.version}` }, `${a.name}:v${a.version}`), el('span.muted', ` ${a.type}`)));
  root.append(
    el('div.run-head',
      el('h1', detail.name || runId), el('span.muted', detail.project), statusEl,
      detail.exit_reason ? el('span.muted', detail.exit_reason) : null,
      el('span.mono.muted', runId), el('span.muted', `created ${fmtTime(detail.created_at ?? detail.created_time)}`), durationEl,
      detail.best_metric_name ? el('span', `best ${detail.best_metric_name} = ${fmtNum(detail.best_metric_value)}`) : null,
      el('span.grow'), el('a', { href: `#/compare?runs=${enc(runId)}` }, 'compare…')),
    el('div.spacer'),
    el('div.cards',
      el('div.panel', el('h3', 'Config'), jsonBlock(detail.config)),
      el('div.panel', el('h3', 'Summary'), jsonBlock(detail.summary)),
      el('div.panel', el('h3', 'Environment'), el('div.kv',
        el('div', 'host'), el('div', detail.hostname || ''),
        el('div', 'pid'), el('div', String(detail.pid ?? '')),
        el('div', 'run dir'), el('div.mono', detail.run_dir || ''),
        el('div', 'tags'), el('div', (detail.tags || []).map((t) => el('span.tag', t))),
        el('div', 'steps'), el('div', detail.min_step != null ? `${detail.min_step} – ${detail.max_step}` : ''),
        el('div', 'produced'), el('div', artifactLinks(detail.artifacts_created)),
        el('div', 'used'), el('div', artifactLinks(detail.artifacts_used)))))
  );

  // ---- toolbar -----------------------------------------------------------------------------
  const xSelect = el('select', { name: 'x-axis', onchange: (e) => { state.xMode = e.target.value; saveQuery(); reloadAll(); } },
    [['step', 'Step'], ['wall_time', 'Wall time'], ['relative_time', 'Relative time']].map(([v, t]) => el('option', { value: v, selected: v === state.xMode }, t)));
  const smoothLabel = el('span.mono', state.smoothing.toFixed(2));
  const smoothInput = el('input', { type: 'range', min: 0, max: 0.99, step: 0.01, value: state.smoothing, name: 'smoothing',
    oninput: (e) => {
      state.smoothing = +e.target.value;
      smoothLabel.textContent = state.smoothing.toFixed(2);
      for (const c of charts.values()) c.chart.setOptions({ smoothing: state.smoothing });
      saveQuery();
    } });
  const logInput = el('input', { type: 'checkbox', name: 'log-scale', checked: state.logY, onchange: (e) => {
    state.logY = e.target.checked;
    for (const c of charts.values()) c.chart.setOptions({ logY: state.logY });
    saveQuery();
  } });
  const filterInput = el('input', { type: 'search', placeholder: 'filter metrics', oninput: debounce((e) => {
    state.filter = e.target.value.trim().toLowerCase();
    for (const [m, c] of charts) c.box.style.display = !state.filter || m.toLowerCase().includes(state.filter) ? '' : 'none';
  }, 150) });
  const zoomInfo = el('span.muted');
  const resetZoom = el('button', { disabled: true, onclick: () => setZoom(null) }, 'Reset zoom');
  const liveInfo = el('span.muted.live-info');
  root.append(el('div.spacer'), el('div.toolbar.row',
    el('label', 'x axis ', xSelect),
    el('label.row', 'smoothing ', smoothInput, smoothLabel),
    el('label.check', logInput, 'log scale'),
    filterInput, resetZoom, zoomInfo, el('span.grow'), liveInfo));

  function saveQuery() {
    const p = new URLSearchParams();
    if (state.xMode !== 'step') p.set('x', state.xMode);
    if (state.smoothing) p.set('smooth', String(state.smoothing));
    if (state.logY) p.set('log', '1');
    const s = p.toString();
    history.replaceState(null, '', `#/runs/${enc(runId)}${s ? `?${s}` : ''}`);
  }

  // ---- charts ------------------------------------------------------------------------------
  const grid = el('div.charts');
  root.append(grid);
  if (!metrics.length) grid.append(el('div.muted', 'No metrics logged yet.'));
  metrics.forEach((m, i) => addChart(m, i));
  const systemBox = el('div.system-section');
  root.append(systemBox);
  const disposeSystem = sysStreams.length
    ? renderSystemSection(systemBox, runId, sysStreams, allMetrics, () => state.status === 'running') : null;

  function addChart(metric, i) {
    const note = el('span.chart-note');
    const body = el('div.chart-body');
    const box = el('div.chart', { dataset: { metric } }, el('div.chart-title', el('span', metric), note), body);
    grid.append(box);
    const chart = new MetricChart(body, [{ label: metric, color: colorFor(i) }], {
      xMode: state.xMode, logY: state.logY, smoothing: state.smoothing, onZoom: setZoom,
    });
    const entry = { chart, box, note, metric, loaded: false, fullTimes: null };
    charts.set(metric, entry);
    return entry;
  }

  // One request for several charts (the server downsamples each metric on its own and joins the
  // chosen steps), so a page of many charts stays within the metrics rate limit.
  async function loadCharts(entries) {
    entries = entries.filter(Boolean);
    if (!entries.length) return;
    const ac = new AbortController();
    aborts.add(ac);
    try {
      const points = Math.max(...entries.map((e) => e.chart.pixelWidth()));
      const d = await metricSeries(runId, entries.map((e) => e.metric), { points, xAxis: state.xMode, stepRange: state.zoom, signal: ac.signal });
      if (disposed) return;
      for (const entry of entries) {
        const all = d.series[entry.metric];
        const steps = [], values = [], rawTimes = d.times ? [] : null;
        for (let i = 0; i < d.steps.length; i++) {
          if (Number.isNaN(all[i])) continue;  // a row chosen for another metric
          steps.push(d.steps[i]);
          values.push(all[i]);
          if (rawTimes) rawTimes.push(d.times[i]);
        }
        const times = rawTimes && state.xMode !== 'step' ? absoluteTimes(entry, steps, rawTimes) : null;
        entry.chart.setData(steps, times, [values], { zoomed: !!state.zoom });
        entry.loaded = true;
        const info = (detail.metric_info || []).find((m) => m.name === entry.metric);
        entry.note.textContent = `${fmtNum(steps.length)} pts` + (info && !state.zoom ? ` of ${fmtNum(info.count)}` : '');
      }
    } catch (e) {
      if (e.name !== 'AbortError') for (const entry of entries) entry.note.textContent = `error: ${e.message}`;
    } finally {
      aborts.delete(ac);
    }
  }
  const loadChart = (entry) => loadCharts([entry]);
  // First paint: the first two charts on their own, the rest together.
  const loadAll = () => {
    const list = [...charts.values()];
    return Promise.all(list.length > 3 ? [loadCharts(list.slice(0, 2)), loadCharts(list.slice(2))] : [loadCharts(list)]);
  };

  // /metrics gives seconds since the first row of each answer. The unzoomed answer starts at the
  // series' first point, so its times are the reference; a zoomed answer is shifted by the
  // reference time at its first step. Wall time adds the run's creation time to that.
  function absoluteTimes(entry, steps, times) {
    let out = Array.from(times);
    if (!state.zoom) entry.fullTimes = { steps: Array.from(steps), times: out };
    else if (entry.fullTimes && steps.length) {
      const off = interpolate(entry.fullTimes, steps[0]);
      out = out.map((t) => t + off);
    }
    if (state.xMode === 'wall_time') {
      const t0 = detail.created_at ?? detail.created_time ?? 0;
      out = out.map((t) => t + t0);
    }
    return out;
  }

  function interpolate({ steps, times }, step) {
    if (!steps.length) return 0;
    let lo = 0, hi = steps.length - 1;
    if (step <= steps[0]) return times[0];
    if (step >= steps[hi]) return times[hi];
    while (hi - lo > 1) { const mid = (lo + hi) >> 1; if (steps[mid] <= step) lo = mid; else hi = mid; }
    const f = (step - steps[lo]) / (steps[hi] - steps[lo] || 1);
    return times[lo] + f * (times[hi] - times[lo]);
  }

  function reloadAll() {
    for (const ac of aborts) ac.abort();
    for (const c of charts.values()) c.chart.setOptions({ xMode: state.xMode });
    loadAll();
  }

  function setZoom(range) {
    state.zoom = range;
    resetZoom.disabled = !range;
    zoomInfo.textContent = range ? `steps ${range[0]} – ${range[1]}` : '';
    reloadAll();
  }

  // ---- live updates ------------------------------------------------------------------------
  // New points arrive on /api/runs/{id}/metrics/ws ({type:"points", metric, steps, values,
  // wall_times}); in step mode they are appended to the chart, in time modes the chart is
  // re-queried (throttled). The run header and the metric list are polled. Without the WebSocket
  // (closed, refused), the poll also fetches the steps after the last one held.
  let pollTimer = 0;
  let polling = false;
  let metricsWs = null;
  let metricsWsLive = false;
  // Charts to re-query (time axes, or grown past ~3 points per pixel): batched, at most every 3 s.
  const pendingReload = new Set();
  let reloadTimer = 0;
  function reloadSoon(entry) {
    pendingReload.add(entry);
    if (reloadTimer) return;
    reloadTimer = setTimeout(() => {
      reloadTimer = 0;
      const list = [...pendingReload];
      pendingReload.clear();
      if (!disposed && !state.zoom) loadCharts(list);
    }, 3000);
  }
  function onPoints(msg) {
    if (state.zoom || !inMainGrid(msg.metric)) return;
    let entry = charts.get(msg.metric);
    if (!entry) { grid.querySelector(':scope > .muted')?.remove(); entry = addChart(msg.metric, charts.size); loadChart(entry); return; }
    if (!entry.loaded) return;
    if (state.xMode !== 'step') { reloadSoon(entry); return; }
    entry.chart.append(msg.steps, null, [msg.values.map((v) => (v == null ? NaN : v))]);
    if (entry.chart.pointCount() > 3 * entry.chart.pixelWidth()) reloadSoon(entry);
  }
  function openMetricsWs() {
    // Resume after the oldest "last step" held, so nothing logged since the charts loaded is
    // missed (points a chart already holds are dropped by append). No chart with points: the
    // server's default, only new points (never the whole history of a long run).
    let after = Infinity;
    for (const c of charts.values()) {
      const st = c.chart.steps;
      if (st.length) after = Math.min(after, st[st.length - 1]);
    }
    const params = isFinite(after) ? { after_step: String(after) } : {};
    metricsWs = new WebSocket(wsUrl(`/api/runs/${enc(runId)}/metrics/ws`, params));
    metricsWs.onopen = () => { metricsWsLive = true; };
    metricsWs.onmessage = (ev) => {
      let msg;
      try { msg = JSON.parse(ev.data); } catch { return; }
      if (msg.type === 'points') onPoints(msg);
    };
    metricsWs.onclose = () => { metricsWsLive = false; };
  }

  async function poll() {
    if (disposed || polling) return;
    polling = true;
    try {
      const d = await get(`/api/runs/${enc(runId)}`);
      if (disposed) return;
      updateHeader(d);
      state.status = d.status;
      const names = d.metric_names || (d.metric_info || []).map((m) => m.name);
      for (const m of names.filter(inMainGrid)) {
        if (!charts.has(m)) { grid.querySelector(':scope > .muted')?.remove(); loadChart(addChart(m, charts.size)); }
      }
      if (!metricsWsLive && !state.zoom) {
        if (state.xMode === 'step') await appendNewPoints(names);
        else if (d.max_step !== lastMaxStep) for (const c of charts.values()) reloadSoon(c);
      }
      lastMaxStep = d.max_step;
      liveInfo.textContent = d.status === 'running' ? `live · step ${d.max_step ?? ''}` : '';
    } catch (e) {
      liveInfo.textContent = `live update failed: ${e.message}`;
    } finally {
      polling = false;
      if (!disposed && state.status === 'running') pollTimer = setTimeout(poll, LIVE_POLL_MS);
      else {
        liveInfo.textContent = '';
        if (metricsWs) setTimeout(() => metricsWs && metricsWs.close(), 3000);
      }
    }
  }
  let lastMaxStep = detail.max_step;

  async function appendNewPoints(names) {
    const loaded = names.filter((m) => charts.get(m)?.loaded);
    if (!loaded.length) return;
    let from = Infinity;
    for (const m of loaded) {
      const st = charts.get(m).chart.steps;
      from = Math.min(from, st.length ? st[st.length - 1] + 1 : 0);
    }
    if (!isFinite(from)) return;
    const d = await metricSeries(runId, loaded, { stepRange: [from, Number.MAX_SAFE_INTEGER], points: 2000 });
    if (disposed || state.zoom) return;
    for (const m of loaded) {
      const vals = d.series[m];
      const steps = [], values = [];
      for (let i = 0; i < d.steps.length; i++) if (!Number.isNaN(vals[i])) { steps.push(d.steps[i]); values.push(vals[i]); }
      onPoints({ metric: m, steps, values });
    }
  }

  // ---- images (media/: the SDK's log_image, imported Runicorn runs) -------------------------
  const gallery = el('div.media-gallery');
  root.append(gallery);
  (async () => {
    let media;
    try { media = await get(`/api/runs/${enc(runId)}/media`); } catch { return; }
    if (disposed || !media.images.length) return;
    gallery.append(el('h2', `Images (${media.images.length})`));
    const grid = el('div.media-grid');
    gallery.append(grid);
    for (const img of media.images) {
      // Fetched with the tab's token (an <img src> cannot send it), shown from a blob URL.
      const image = el('img', { alt: img.key, title: img.file, loading: 'lazy' });
      const caption = [img.key, img.step != null ? `step ${img.step}` : null, img.caption].filter(Boolean).join(' · ');
      grid.append(el('figure.media-item', image, el('figcaption.muted', caption)));
      mediaBlob(img.url).then((url) => { if (url) image.src = url; });
    }
  })();

  // ---- log tail ----------------------------------------------------------------------------
  const logBox = el('div.logs');
  const logSearch = el('input', { type: 'search', placeholder: 'search logs', name: 'log-search' });
  const logInfo = el('span.muted', 'no log lines yet');
  const lines = [];
  const MAX_LINES = 20000;
  root.append(el('h2', 'Logs'), el('div.row', logSearch, logInfo), el('div.spacer'), logBox);

  const renderLine = (text, q) => {
    const div = el('div.line');
    if (!q) { div.textContent = text; return div; }
    const lower = text.toLowerCase();
    let at = 0;
    for (let i = lower.indexOf(q); i >= 0; i = lower.indexOf(q, at)) {
      div.append(text.slice(at, i), el('mark', text.slice(i, i + q.length)));
      at = i + q.length;
    }
    div.append(text.slice(at));
    return div;
  };
  const matches = (text, q) => !q || text.toLowerCase().includes(q);
  function redrawLogs() {
    const q = logSearch.value.trim().toLowerCase();
    const shown = lines.filter((l) => matches(l, q));
    logBox.replaceChildren(...shown.slice(-5000).map((l) => renderLine(l, q)));
    logInfo.textContent = q ? `${shown.length} of ${lines.length} lines match` : `${lines.length} lines`;
    logBox.scrollTop = logBox.scrollHeight;
  }
  logSearch.addEventListener('input', debounce(redrawLogs, 150));
  function addLogText(text) {
    const atBottom = logBox.scrollHeight - logBox.scrollTop - logBox.clientHeight < 30;
    const q = logSearch.value.trim().toLowerCase();
    for (const line of String(text).replace(/\n$/, '').split('\n')) {
      lines.push(line);
      if (matches(line, q)) logBox.append(renderLine(line, q));
    }
    if (lines.length > MAX_LINES) { lines.splice(0, lines.length - MAX_LINES); redrawLogs(); }
    logInfo.textContent = q ? '' : `${lines.length} lines`;
    if (atBottom) logBox.scrollTop = logBox.scrollHeight;
  }
  let ws = null;
  let wsRetry = 0;
  function openLogs() {
    if (disposed) return;
    ws = new WebSocket(wsUrl(`/api/runs/${enc(runId)}/logs/ws`));
    ws.onmessage = (ev) => addLogText(ev.data);
    ws.onclose = () => {
      if (disposed) return;
      if (state.status === 'running' && wsRetry++ < 20) setTimeout(() => { lines.length = 0; logBox.replaceChildren(); openLogs(); }, 2000);
    };
  }
  openLogs();

  // ---- start -------------------------------------------------------------------------------
  await loadAll();
  if (state.status === 'running') {
    openMetricsWs();
    pollTimer = setTimeout(poll, LIVE_POLL_MS);
  }

  return () => {
    disposed = true;
    clearTimeout(pollTimer);
    for (const ac of aborts) ac.abort();
    if (ws) ws.close();
    if (metricsWs) metricsWs.close();
    clearTimeout(reloadTimer);
    for (const c of charts.values()) c.chart.destroy();
    if (disposeSystem) disposeSystem();
  };
}
