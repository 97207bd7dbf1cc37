// Browser test: a run written with RUNICORN_SYSTEM_METRICS=1 (`runicorn simulate`) has this
// host's system:<host> stream, and the run page shows it in a "System" section: one group of
// charts for the host, drawn with its samples, while the main metric grid keeps the run's own
// metrics only. Registered as the CTest entry web_e2e_system_metrics
// (apps/runicorn/web/CMakeLists.txt), same environment as web_e2e.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { env, tempDir, startViewer, launchBrowser } from './harness.mjs';

let viewer, browser, page, dir, runId;
const pageErrors = [];
// docs/SYSTEM.md: "system:" + the hostname with characters outside [A-Za-z0-9_.-] made '-'.
const host = (os.hostname().replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 57)) || 'unknown';
const stream = `system:${host}`;

before(async () => {
  dir = tempDir('runicorn-e2e-system-');
  const store = path.join(dir, 'store');
  // 300 steps of 10 ms: about 3 s, so the 1 s sampler has written at least two samples.
  runId = execFileSync(env.bin, ['simulate', '--storage', store, '--steps', '300', '--interval-ms', '10'],
    { encoding: 'utf8', env: { ...process.env, RUNICORN_SYSTEM_METRICS: '1' } }).trim().split('\n')[0];
  viewer = await startViewer(store);
  browser = await launchBrowser();
  page = await browser.context.newPage();
  page.on('pageerror', (e) => pageErrors.push(String(e)));
});

after(async () => {
  if (browser) await browser.close();
  if (viewer) await viewer.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test('the stream API lists the host stream and serves its samples', async () => {
  let body;
  for (let i = 0; i < 100; i++) {  // the viewer indexes the run in the background
    const r = await fetch(`${viewer.base}/api/runs/${runId}/streams`);
    if (r.ok) { body = await r.json(); if (body.streams.length === 2) break; }
    await new Promise((res) => setTimeout(res, 100));
  }
  assert.deepEqual(body.streams.map((s) => [s.stream, s.ended]), [['0', true], [stream, true]]);
  const r = await fetch(`${viewer.base}/api/runs/${runId}/stream-points?metric=system/cpu_percent&stream=${encodeURIComponent(stream)}`);
  assert.equal(r.status, 200);
  const d = await r.json();
  assert.equal(d.stream, stream);
  assert.ok(d.rows.step.length >= 2, `samples: ${d.rows.step.length}`);
  assert.deepEqual(d.rows.step, d.rows.step.map((_, i) => i + 1));
  assert.ok(d.rows.value.every((v) => v >= 0 && v <= 100));
});

test('the run page charts the host in a System section, apart from the run\'s metrics', async () => {
  await page.goto(`${viewer.base}/#/runs/${runId}`);
  await page.waitForSelector('.system-section h3.system-host');
  assert.equal(await page.textContent('.system-section h2'), 'System');
  assert.deepEqual(await page.$$eval('.system-section h3.system-host', (hs) => hs.map((h) => [h.textContent, h.dataset.stream])),
    [[host, stream]]);
  // Every chart of the group gets the host's samples (wall time on x).
  await page.waitForFunction(() => {
    const charts = [...document.querySelectorAll('.system-section .chart .chart-body')];
    return charts.length > 0 && charts.every((c) => c._chart && c._chart.steps.length >= 2);
  }, null, { timeout: 15000 });
  const titles = await page.$$eval('.system-section .chart', (cs) => cs.map((c) => c.dataset.metric));
  assert.deepEqual(titles.slice(0, 3), ['CPU %', 'Memory %', 'Load (1 min)']);
  assert.ok(!titles.some((t) => t.startsWith('GPU')), 'no GPU on this machine');
  const cpu = await page.$eval('.system-section .chart[data-metric="CPU %"] .chart-body', (b) => ({
    xMode: b._chart.xMode, series: b._chart.raw.length, values: b._chart.raw[0] }));
  assert.equal(cpu.xMode, 'wall_time');
  assert.equal(cpu.series, 1);
  assert.ok(cpu.values.every((v) => v >= 0 && v <= 100));
  // The main grid: the run's own metrics, no system/* chart.
  const main = await page.$$eval('.run-page > .charts > .chart', (cs) => cs.map((c) => c.dataset.metric).sort());
  assert.deepEqual(main, ['accuracy', 'loss']);
  fs.mkdirSync(env.artifacts, { recursive: true });
  await page.screenshot({ path: path.join(env.artifacts, 'system-metrics.png'), fullPage: true });
  assert.deepEqual(pageErrors, []);
});
