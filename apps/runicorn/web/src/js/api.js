// REST and WebSocket access to `runicorn viewer` (Runicorn v0.5 shapes).
//
// Bearer token: when the server answers 401, the user is asked once for a token (one dialog even
// when many requests fail together); it is kept in sessionStorage for this tab and sent as
// `Authorization: Bearer`. WebSockets cannot carry headers from a browser, so they get it as the
// `token` query parameter.

const TOKEN_KEY = 'runicorn.token';

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail || `HTTP ${status}`);
    this.status = status;
    this.detail = detail;
  }
}

export function token() { return sessionStorage.getItem(TOKEN_KEY) || ''; }
export function setToken(value) { if (value) sessionStorage.setItem(TOKEN_KEY, value); else sessionStorage.removeItem(TOKEN_KEY); }

// The viewer prints `http://host:port/?token=T` (as Jupyter does): take the token from such a URL
// into this tab's sessionStorage and drop it from the address bar, so it stays out of the history,
// bookmarks and screenshots.
const urlToken = new URLSearchParams(location.search).get('token');
export const tokenFromUrl = !!urlToken;
if (urlToken) {
  setToken(urlToken.trim());
  const url = new URL(location.href);
  url.searchParams.delete('token');
  history.replaceState(null, '', url.pathname + url.search + url.hash);
}

let pendingPrompt = null;
function promptToken() {
  if (pendingPrompt) return pendingPrompt;
  pendingPrompt = new Promise((resolve) => {
    const dialog = document.getElementById('token-dialog');
    const input = document.getElementById('token-input');
    input.value = '';
    dialog.addEventListener('close', () => {
      const value = dialog.returnValue === 'ok' ? input.value.trim() : '';
      if (value) sessionStorage.setItem(TOKEN_KEY, value);
      pendingPrompt = null;
      resolve(value);
    }, { once: true });
    dialog.showModal();
  });
  return pendingPrompt;
}

function setConn(ok, text) {
  const c = document.getElementById('conn');
  if (!c) return;
  c.textContent = text;
  c.classList.toggle('bad', !ok);
}

// noPrompt: a 401 is thrown as ApiError instead of opening the token dialog (the Tasks page shows
// its own "token required" panel).
export async function request(path, { method = 'GET', body, signal, noPrompt = false } = {}) {
  for (let attempt = 0; ; attempt++) {
    const headers = {};
    const t = token();
    if (t) headers.Authorization = `Bearer ${t}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let res;
    try {
      res = await fetch(path, { method, headers, signal,
        body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (e) {
      if (e.name !== 'AbortError') setConn(false, 'server unreachable');
      throw e;
    }
    if (res.status === 401 && noPrompt) {
      sessionStorage.removeItem(TOKEN_KEY);
    } else if (res.status === 401 && attempt < 3) {
      sessionStorage.removeItem(TOKEN_KEY);
      const entered = await promptToken();
      if (entered) continue;
    }
    if (res.status === 429 && attempt < 3) {
      // Over the server's rate limit: wait as told (bounded) and try again.
      const wait = Math.min(30, Math.max(1, +res.headers.get('Retry-After') || 2));
      setConn(false, `rate limited, retrying in ${wait}s`);
      await new Promise((r) => setTimeout(r, wait * 1000));
      if (signal && signal.aborted) throw new DOMException('aborted', 'AbortError');
      continue;
    }
    if (!res.ok) {
      let detail = '';
      try { detail = (await res.json()).detail; } catch { /* not JSON */ }
      throw new ApiError(res.status, detail || `${res.status} ${res.statusText}`);
    }
    setConn(true, '');
    return res.status === 204 ? null : res.json();
  }
}

export const get = (path, opts) => request(path, opts);

// A binary resource (a run's image) fetched with the tab's token, as an object URL; null on error.
export async function mediaBlob(path) {
  const headers = {};
  const t = token();
  if (t) headers.Authorization = `Bearer ${t}`;
  try {
    const res = await fetch(path, { headers });
    return res.ok ? URL.createObjectURL(await res.blob()) : null;
  } catch { return null; }
}
export const post = (path, body) => request(path, { method: 'POST', body });

export function qs(params) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '' || (Array.isArray(v) && !v.length)) continue;
    p.set(k, Array.isArray(v) ? v.join(',') : String(v));
  }
  const s = p.toString();
  return s ? `?${s}` : '';
}

export const enc = encodeURIComponent;

export function wsUrl(path, params = {}) {
  const t = token();
  const url = new URL(path, location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  if (t) url.searchParams.set('token', t);
  return url.toString();
}

// ---- Metrics -------------------------------------------------------------------------------

// Normalizes a `columns`/`rows` answer (rows as objects or as arrays) into
// { steps: Float64Array, times: Float64Array|null, series: {name: Float64Array (NaN = missing)} }.
export function columnsToSeries(data, metrics) {
  const rows = data.rows || [];
  const cols = data.columns || [];
  const stepKey = ['global_step', 'step'].find((k) => cols.includes(k)) || 'global_step';
  const timeKey = ['wall_time', 'time', 'timestamp'].find((k) => cols.includes(k));
  const names = metrics && metrics.length ? metrics
    : cols.filter((c) => c !== stepKey && c !== timeKey && c !== 'stage' && c !== 'relative_time');
  const n = rows.length;
  const steps = new Float64Array(n);
  const times = timeKey ? new Float64Array(n) : null;
  const series = {};
  for (const m of names) series[m] = new Float64Array(n).fill(NaN);
  const isArray = n && Array.isArray(rows[0]);
  const idx = isArray ? Object.fromEntries(cols.map((c, i) => [c, i])) : null;
  for (let i = 0; i < n; i++) {
    const r = rows[i];
    const at = isArray ? (k) => r[idx[k]] : (k) => r[k];
    steps[i] = at(stepKey);
    if (times) times[i] = at(timeKey) ?? NaN;
    for (const m of names) {
      const v = at(m);
      // The wire maps NaN/Inf to null or to strings; keep them as gaps (NaN) on the chart.
      series[m][i] = typeof v === 'number' ? v : NaN;
    }
  }
  return { steps, times, series, total: data.total_points ?? data.points_in_range ?? null };
}

// One or more metrics of a run, downsampled by the server to about `points` per series.
// x axis "step" reads /metrics_step; "wall_time" / "relative_time" read /metrics?time=relative,
// whose rows carry `time` (seconds since the first row of the answer) and the downsampling
// geometry of that axis. Every row carries every column (null where a metric has no point).
export async function metricSeries(runId, metrics, { points, stepRange, xAxis = 'step', method, signal } = {}) {
  const endpoint = xAxis === 'step' ? 'metrics_step' : 'metrics';
  const data = await get(`/api/runs/${enc(runId)}/${endpoint}` + qs({
    metrics,
    downsample: points ? Math.max(16, Math.round(points)) : undefined,
    method,
    x_axis: xAxis !== 'step' ? xAxis : undefined,
    time: xAxis !== 'step' ? 'relative' : undefined,
    step_range: stepRange ? `${Math.floor(stepRange[0])},${Math.ceil(stepRange[1])}` : undefined,
  }), { signal });
  return columnsToSeries(data, metrics);
}
