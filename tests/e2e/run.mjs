// End-to-end tests of the web UI: a real `runicorn viewer` on a loopback port over a generated
// store, headless Debian chromium via playwright-core. Screenshots of every page go to
// $E2E_ARTIFACTS (default build-web/e2e-artifacts). Exits non-zero when a test fails.
//
//   node tests/e2e/run.mjs          (CTest: web_e2e)

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { env, tempDir, fixture, startViewer, launchBrowser, startWriter, chartData } from './harness.mjs';

let storage, made, viewer, browser, page;
const pageErrors = [];

async function shot(name) {
  fs.mkdirSync(env.artifacts, { recursive: true });
  await page.screenshot({ path: path.join(env.artifacts, `${name}.png`), fullPage: true });
}

async function open(hash) {
  await page.goto(`${viewer.base}/${hash}`);
}

// Polls `fn` in Node until it returns a truthy value (or throws the last assertion).
async function eventually(fn, timeout = 15000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    try {
      const v = await fn();
      if (v !== false && v != null) return v;
      if (Date.now() > deadline) throw new Error('condition not met in time');
    } catch (e) {
      if (Date.now() > deadline) throw e;
    }
    await new Promise((r) => setTimeout(r, 150));
  }
}

const runRows = () => page.$$eval('table.runs-table tbody tr[data-run-id]', (rows) => rows.map((r) => r.dataset.runId));

before(async () => {
  storage = tempDir('runicorn-e2e-store-');
  made = fixture('populate', storage);
  viewer = await startViewer(storage);
  browser = await launchBrowser();
  page = await browser.context.newPage();
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('dialog', (d) => d.accept());
});

after(async () => {
  if (browser) await browser.close();
  if (viewer) await viewer.stop();
  if (storage) fs.rmSync(storage, { recursive: true, force: true });
});

test('static files: index is revalidated, vendor assets are immutable, traversal is refused', async () => {
  const index = await fetch(`${viewer.base}/`);
  assert.equal(index.status, 200);
  assert.match(index.headers.get('content-type'), /^text\/html/);
  assert.equal(index.headers.get('cache-control'), 'no-cache');
  const html = await index.text();
  const vendor = /src="(vendor\/uplot-[^"]+\.js)"/.exec(html)[1];
  const v = await fetch(`${viewer.base}/${vendor}`);
  assert.equal(v.status, 200);
  assert.match(v.headers.get('content-type'), /^text\/javascript/);
  assert.match(v.headers.get('cache-control'), /max-age=31536000/);
  const js = await fetch(`${viewer.base}/js/app.js`);
  assert.match(js.headers.get('content-type'), /^text\/javascript/);
  const etag = js.headers.get('etag');
  assert.ok(etag);
  assert.equal((await fetch(`${viewer.base}/js/app.js`, { headers: { 'If-None-Match': etag } })).status, 304);
  for (const bad of ['/%2e%2e/%2e%2e/etc/passwd', '/js/..%2f..%2fCMakeLists.txt', '/js/%5c..%5capp.js']) {
    const r = await fetch(`${viewer.base}${bad}`);
    assert.ok(r.status === 400 || r.status === 403 || r.status === 404, `${bad} -> ${r.status}`);
  }
  // The API is still the API.
  assert.equal((await fetch(`${viewer.base}/api/health`)).status, 200);
});

test('runs table lists the runs and filters them on the server', async () => {
  await open('#/runs');
  const all = Object.values(made.runs);
  await eventually(async () => (await runRows()).length === all.length);
  assert.deepEqual(new Set(await runRows()), new Set(all));
  await shot('runs');

  await page.fill('input[name=search]', 'resnet');
  await eventually(async () => (await runRows()).length === 2);
  assert.deepEqual(new Set(await runRows()), new Set([made.runs.train, made.runs.tuned]));
  assert.match(page.url(), /search=resnet/);

  await page.fill('input[name=search]', '');
  await page.check('input[name=status][value=failed]');
  await eventually(async () => JSON.stringify(await runRows()) === JSON.stringify([made.runs.vit]));
  const badge = await page.$eval(`tr[data-run-id="${made.runs.vit}"] .badge`, (b) => [b.textContent, getComputedStyle(b).backgroundColor]);
  assert.equal(badge[0], 'failed');
  assert.equal(badge[1], 'rgb(220, 38, 38)');
  await page.uncheck('input[name=status][value=failed]');

  await page.fill('input[name=project]', 'nlp');
  await eventually(async () => JSON.stringify(await runRows()) === JSON.stringify([made.runs.bert]));
  await page.fill('input[name=project]', '');
  await page.fill('input[name=tags]', 'baseline');
  await eventually(async () => (await runRows()).length === 2);
  assert.deepEqual(new Set(await runRows()), new Set([made.runs.train, made.runs.bert]));
  await page.fill('input[name=tags]', '');
  await eventually(async () => (await runRows()).length === all.length);

  // Server-side sort and pagination: oldest first, two per page.
  await open('#/runs?order_by=created_at&order_desc=false&per_page=2');
  await eventually(async () => (await runRows()).length === 2);
  const first = await runRows();
  assert.match(await page.textContent('.pager'), /Page 1 of 3/);
  await page.click('.pager button:has-text("Next")');
  await eventually(async () => { const r = await runRows(); return r.length === 2 && r[0] !== first[0]; });
  assert.match(await page.textContent('.pager'), /Page 2 of 3/);
  assert.match(page.url(), /page=2/);
});

test('soft delete moves a run to the recycle bin and restore brings it back', async () => {
  await open('#/runs');
  await eventually(async () => (await runRows()).includes(made.runs.bert));
  await page.check(`tr[data-run-id="${made.runs.bert}"] input[type=checkbox]`);
  await page.click('button:has-text("Delete selected")');
  await eventually(async () => !(await runRows()).includes(made.runs.bert));
  await open('#/recycle-bin');
  await page.waitForSelector(`table.recycle-table tr[data-run-id="${made.runs.bert}"]`);
  await shot('recycle-bin');
  await page.click(`table.recycle-table tr[data-run-id="${made.runs.bert}"] button:has-text("Restore")`);
  await eventually(async () => (await page.$(`table.recycle-table tr[data-run-id="${made.runs.bert}"]`)) === null);
  await open('#/runs');
  await eventually(async () => (await runRows()).includes(made.runs.bert));
});

test('run page draws one chart per metric, each with one series, and the back button returns', async () => {
  await open('#/runs');
  await eventually(async () => (await runRows()).includes(made.runs.train));
  await page.click(`tr[data-run-id="${made.runs.train}"] a`);
  await eventually(() => page.url().includes(`#/runs/${made.runs.train}`));
  const charts = await eventually(async () => {
    const c = await chartData(page);
    return c.length === 3 && c.every((x) => x.x.length > 0) && c;
  });
  assert.deepEqual(charts.map((c) => c.metric).sort(), ['acc', 'loss', 'lr']);
  for (const c of charts) {
    assert.equal(c.series, 1);
    assert.equal(c.x[c.x.length - 1], 500);  // every step 1..500 fits in the pixel width
    assert.equal(c.x.length, 500);
  }
  assert.match(await page.textContent('.cards'), /resnet18/);  // config
  await eventually(async () => (await page.textContent('.logs')).includes('step 500 loss='));
  await shot('run');

  // Smoothing and log scale change what is drawn, not what was fetched.
  const rawLoss = charts.find((c) => c.metric === 'loss').ys[0];
  await page.fill('input[name=smoothing]', '0.9');
  await page.dispatchEvent('input[name=smoothing]', 'input');
  const smoothed = (await chartData(page)).find((c) => c.metric === 'loss').ys[0];
  assert.notDeepEqual(smoothed, rawLoss);
  assert.equal(smoothed.length, rawLoss.length);

  // Log scale rebuilds the y scale as logarithmic; relative time re-queries with time on x.
  await page.check('input[name=log-scale]');
  assert.equal(await page.evaluate(() => document.querySelector('.chart[data-metric="loss"] .chart-body')._chart.u.scales.y.distr), 3);
  await page.uncheck('input[name=log-scale]');
  await page.selectOption('select[name=x-axis]', 'relative_time');
  const rel = await eventually(async () => {
    const c = (await chartData(page)).find((x) => x.metric === 'loss');
    return c.x.length === 500 && c.x[0] === 0 && c.x[499] < 400 && c;
  });
  assert.ok(rel.x.every((v, i) => i === 0 || v >= rel.x[i - 1]));
  await page.selectOption('select[name=x-axis]', 'step');
  await eventually(async () => (await chartData(page)).every((c) => c.x[499] === 500));
  assert.match(page.url(), /smooth=0.9/);

  // Log search filters the tail.
  await page.fill('input[name=log-search]', 'step 300 ');
  await eventually(async () => (await page.$$('.logs .line')).length === 1);

  await page.goBack();
  await eventually(() => page.url().endsWith('#/runs') || page.url().includes('#/runs?'));
  await eventually(async () => (await runRows()).length > 0);
});

test('a run page updates when a writer process logs new points', async () => {
  const writer = startWriter(storage, 20, 20);
  const id = await writer.ready();
  try {
    // The viewer indexes the new run within its refresh interval.
    await eventually(async () => (await fetch(`${viewer.base}/api/runs/${id}`)).status === 200);
    await open(`#/runs/${id}`);
    const before = await eventually(async () => {
      const c = await chartData(page);
      return c.length === 2 && c.every((x) => x.x[x.x.length - 1] === 20) && c;
    });
    assert.deepEqual(before.map((c) => c.series), [1, 1]);
    await shot('run-live-before');
    writer.go();
    await writer.done();
    const afterData = await eventually(async () => {
      const c = await chartData(page);
      return c.length === 2 && c.every((x) => x.x[x.x.length - 1] === 40) && c;
    }, 20000);
    for (const c of afterData) {
      assert.equal(c.x.length, 40);
      assert.deepEqual(c.x, Array.from({ length: 40 }, (_, i) => i + 1));
    }
    const loss = afterData.find((c) => c.metric === 'loss').ys[0];
    assert.ok(Math.abs(loss[39] - 1 / 40) < 1e-12);
    await eventually(async () => (await page.textContent('.logs')).includes('live step 40'));
    await shot('run-live-after');
  } finally {
    await writer.finish();
  }
});

test('compare page overlays the same metric of two runs with a legend and a colour per run', async () => {
  await open(`#/compare?runs=${made.runs.train},${made.runs.tuned}&metric=loss`);
  const [c] = await eventually(async () => {
    const d = await chartData(page);
    return d.length === 1 && d[0].ys.length === 2 && d[0].ys.every((y) => y.some((v) => v != null)) && d;
  });
  assert.equal(c.series, 2);
  assert.equal(c.x.length, 500);
  assert.notDeepEqual(c.ys[0], c.ys[1]);
  const colours = await page.evaluate(() => document.querySelector('.compare-chart .chart-body')._chart.u.series.slice(1).map((s) => s._stroke || s.stroke()));
  assert.equal(new Set(colours).size, 2);
  const legend = await page.$$eval('table.compare-legend tbody tr', (rows) => rows.map((r) => r.dataset.runId));
  assert.deepEqual(legend, [made.runs.train, made.runs.tuned]);
  await shot('compare');
});

test('the lineage graph of a model shows its dataset and producing run, and links to the run', async () => {
  const { name, version } = made.model;
  await open(`#/artifacts/${name}/v${version}`);
  await page.waitForSelector('svg.lineage g.node');
  const nodes = await page.$$eval('svg.lineage g.node', (gs) => gs.map((g) => [g.dataset.nodeType, g.dataset.nodeId]));
  const ids = nodes.map((n) => n[1]);
  assert.ok(ids.includes(`${name}:v${version}`), ids.join());
  assert.ok(ids.includes(`${made.dataset.name}:v${made.dataset.version}`), ids.join());
  const runNode = `run:${made.runs.train}`;  // Runicorn's run node ids
  assert.ok(ids.includes(runNode), ids.join());
  assert.deepEqual(nodes.find((n) => n[1] === runNode)[0], 'run');
  const edges = await page.$$eval('svg.lineage path.edge', (ps) => ps.map((p) => `${p.dataset.source}|${p.dataset.edgeType}|${p.dataset.target}`));
  assert.ok(edges.includes(`${made.dataset.name}:v${made.dataset.version}|uses|${runNode}`), edges.join());
  assert.ok(edges.includes(`${runNode}|produces|${name}:v${version}`), edges.join());
  // Versions with aliases and sizes, files with download links, dedup stats.
  assert.match(await page.textContent('table.versions-table'), /production/);
  const href = await page.getAttribute('table.files-table a', 'href');
  const file = await fetch(`${viewer.base}${href}`);
  assert.equal(file.status, 200);
  assert.equal((await file.arrayBuffer()).byteLength, 2 << 20);
  assert.match(await page.textContent('.stats'), /dedup ratio/);
  await shot('artifact-lineage');

  await page.click(`svg.lineage g.node[data-node-id="${runNode}"]`);
  await eventually(() => page.url().endsWith(`#/runs/${made.runs.train}`));
  await page.waitForSelector('.chart');
  await page.goBack();
  await eventually(() => page.url().endsWith(`#/artifacts/${name}/v${version}`));
  await page.waitForSelector('svg.lineage g.node');
});

test('a spike in a 1M-point series is drawn, and a drag-zoom re-queries that step range', async () => {
  await open(`#/runs/${made.runs.big}`);
  const [c] = await eventually(async () => {
    const d = await chartData(page);
    return d.length === 1 && d[0].x.length > 0 && d;
  }, 30000);
  assert.ok(c.x.length <= 2 * c.width + 16, `${c.x.length} points for ${c.width} px`);
  assert.ok(c.x.length >= c.width / 2, `${c.x.length} points for ${c.width} px`);
  const ys = c.ys[0];
  const max = Math.max(...ys.filter((v) => v != null));
  assert.equal(max, 50);
  assert.equal(c.x[ys.indexOf(max)], made.spike_step);
  await shot('run-million-points');

  // Drag across the middle of the plot: the chart asks the server for that range only.
  const box = await page.$eval('.chart .u-over', (o) => { const r = o.getBoundingClientRect(); return [r.x, r.y, r.width, r.height]; });
  const [x, y, w, h] = box;
  await page.mouse.move(x + w * 0.6, y + h / 2);
  await page.mouse.down();
  await page.mouse.move(x + w * 0.7, y + h / 2, { steps: 5 });
  await page.mouse.up();
  const zoomed = await eventually(async () => {
    const [d] = await chartData(page);
    return d.x.length > 0 && d.x[0] > 100000 && d;
  });
  const lo = zoomed.x[0], hi = zoomed.x[zoomed.x.length - 1];
  assert.ok(hi - lo < 200000, `${lo}..${hi}`);
  // Finer than the overview: more points per step range than before.
  assert.ok(zoomed.x.length >= zoomed.width / 2);
  assert.match(await page.textContent('.toolbar'), /steps \d+ – \d+/);
  await page.click('button:has-text("Reset zoom")');
  await eventually(async () => (await chartData(page))[0].x[0] === 1);
});

test('deep links and hash navigation keep the back button working', async () => {
  await open('#/runs');
  await eventually(async () => (await runRows()).length > 0);
  await open(`#/artifacts`);
  await page.waitForSelector('.artifact-list a');
  await page.click(`.artifact-list a[data-artifact="${made.dataset.name}"]`);
  await eventually(() => page.url().endsWith(`#/artifacts/${made.dataset.name}`));
  await page.waitForSelector('table.versions-table');
  await page.goBack();
  await eventually(() => page.url().endsWith('#/artifacts'));
  assert.deepEqual(pageErrors, []);
});

test('with --token the page asks for the token once, keeps it for the tab, and sends it', async () => {
  // One viewer per store (it holds the catalog): a second store for the secured viewer.
  const store2 = tempDir('runicorn-e2e-token-store-');
  const made2 = fixture('populate', store2);
  const secured = await startViewer(store2, ['--token', 'e2e-secret-token']);
  const b = await launchBrowser();
  try {
    const p = await b.context.newPage();
    p.on('pageerror', (e) => pageErrors.push(e.message));
    assert.equal((await fetch(`${secured.base}/api/runs`)).status, 401);
    await p.goto(`${secured.base}/#/runs/${made2.runs.train}`);
    await p.waitForSelector('#token-dialog[open]');
    await p.fill('#token-input', 'e2e-secret-token');
    await p.click('#token-dialog button[value=ok]');
    await eventually(async () => (await chartData(p)).length === 3 && (await chartData(p)).every((c) => c.x.length === 500));
    assert.equal(await p.evaluate(() => sessionStorage.getItem('runicorn.token')), 'e2e-secret-token');
    // The log WebSocket carries the token as ?token=.
    await eventually(async () => (await p.textContent('.logs')).includes('step 500 loss='));
    await p.goto(`${secured.base}/#/runs`);
    await eventually(async () => (await p.$$('table.runs-table tbody tr[data-run-id]')).length > 0);
    assert.equal(await p.$('#token-dialog[open]'), null);
    fs.mkdirSync(env.artifacts, { recursive: true });
    await p.screenshot({ path: path.join(env.artifacts, 'runs-with-token.png') });
  } finally {
    await b.close();
    await secured.stop();
    fs.rmSync(store2, { recursive: true, force: true });
  }
});

test('no page raised an uncaught error', () => {
  assert.deepEqual(pageErrors, []);
});
