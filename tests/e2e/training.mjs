// End-to-end test of the Training page (#/training, issue 18): a real `runicorn viewer
// --llm-service` whose trainer command is tests/e2e/fixture/llm_trainer.cpp (it logs the job's
// run with libruntrack and writes a model file, as the Python reference trainer does, without
// torch), real jobs started through POST /api/v1/train, headless Debian chromium via
// playwright-core. The trainer stops after its first epoch until the test creates
// `go-<task_id>`, so the page is checked at exact states: running at 50.0 %, queued, canceled,
// completed at 100.0 % with its model. Screenshots go to $E2E_ARTIFACTS.
//
//   node tests/e2e/training.mjs          (CTest: web_e2e_training)

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { env, tempDir, startViewer, launchBrowser } from './harness.mjs';

const trainer = process.env.RUNICORN_E2E_TRAINER || path.join(path.dirname(env.fixture), 'runicorn_e2e_trainer');

let work, storage, llm, viewer, browser, page, token;
const pageErrors = [];

async function shot(p, name) {
  fs.mkdirSync(env.artifacts, { recursive: true });
  await p.screenshot({ path: path.join(env.artifacts, `${name}.png`), fullPage: true });
}

// Polls `fn` in Node until it returns a truthy value (or throws the last assertion).
async function eventually(fn, timeout = 30000) {
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

async function v1(method, p, body) {
  const r = await fetch(`${viewer.base}/api/v1${p}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = await r.json();
  assert.equal(r.status, 200, `${method} /api/v1${p} -> ${r.status} ${JSON.stringify(json)}`);
  return json;
}

const startJob = async (seed) => (await v1('POST', '/train', {
  dataset_path: 'qa:v1', config: { num_epochs: 2, output_dir: './models/e2e_model' }, seed,
})).task_id;

// What the page's row of a job says, cell by cell.
const row = (id) => page.$eval(`table.training-table tr[data-job="${id}"]`, (tr) => ({
  status: tr.dataset.status,
  badge: tr.querySelector('td.status .badge').textContent,
  progress: tr.querySelector('td.progress .progress-text').textContent,
  loss: tr.querySelector('td.train-loss').textContent,
  dataset: tr.querySelector('td.dataset').textContent,
  model: tr.querySelector('td.model').textContent,
  modelHref: tr.querySelector('td.model a')?.getAttribute('href') ?? null,
  run: tr.querySelector('td.run a').textContent,
  runHref: tr.querySelector('td.run a').getAttribute('href'),
  created: tr.querySelector('td.created').textContent,
  finished: tr.querySelector('td.finished').textContent,
  logHref: tr.querySelector('td.log a').getAttribute('href'),
}));

// Waits until the row shows `status` and `progress` (the page polls the server).
const rowIn = (id, status, progress) => eventually(async () => {
  const r = await row(id).catch(() => null);
  return r && r.status === status && r.progress === progress ? r : null;
});

const TIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;

before(async () => {
  work = tempDir('runicorn-e2e-training-');
  storage = path.join(work, 'store');
  llm = path.join(work, 'llm');
  fs.mkdirSync(storage);
  fs.mkdirSync(llm);
  // One job at a time, so a second one waits in the queue.
  fs.writeFileSync(path.join(llm, 'service.json'), JSON.stringify({ trainer, workers: 1 }));
  execFileSync(env.bin, ['users', 'add', 'ada', '--password-stdin', '--storage', storage],
    { input: 'correct-horse\n', encoding: 'utf8' });
  viewer = await startViewer(storage, ['--llm-service', path.join(llm, 'service.json')]);
  const login = await fetch(`${viewer.base}/api/v1/login`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username: 'ada', password: 'correct-horse' }),
  });
  assert.equal(login.status, 200);
  token = (await login.json()).token;
  const form = new FormData();
  form.append('file', new Blob([JSON.stringify([{ instruction: 'Say hi', response: 'hi' },
    { instruction: 'Add 1+1', response: '2' }])]), 'qa.json');
  form.append('name', 'qa');
  const up = await fetch(`${viewer.base}/api/v1/datasets/upload`, {
    method: 'POST', headers: { Authorization: `Bearer ${token}` }, body: form,
  });
  assert.equal(up.status, 200, await up.text());
  browser = await launchBrowser();
  page = await browser.context.newPage();
  page.on('pageerror', (e) => pageErrors.push(e.message));
});

after(async () => {
  if (browser) await browser.close();
  if (viewer) await viewer.stop();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

test('with no jobs the page says so, and the nav has a Training link', async () => {
  await page.goto(`${viewer.base}/#/training`);
  const empty = await page.waitForSelector('.training-jobs .empty');
  assert.equal(await empty.innerText(), 'No training jobs yet. Start one with POST /api/v1/train (docs/API-v1.md).');
  assert.equal(await page.textContent('.training-info'), '0 jobs');
  assert.equal(await page.getAttribute('nav a[data-nav="training"]', 'class'), 'active');
});

test('jobs show status, progress, train_loss, run, model, times and log, live', async () => {
  const a = await startJob(1);
  const b = await startJob(2);
  const runA = (await v1('GET', `/train/status/${a}`)).run_id;

  // A has logged its first epoch of two and waits: exactly 50.0 %, latest train_loss 0.6.
  const ra = await rowIn(a, 'running', '50.0%');
  assert.equal(ra.badge, 'running');
  assert.equal(ra.loss, '0.6');
  assert.equal(ra.dataset, 'qa:v1');
  assert.equal(ra.model, 'e2e_model');
  assert.equal(ra.modelHref, null);  // no model before the job completes
  assert.equal(ra.run, runA);
  assert.equal(ra.runHref, `#/runs/${runA}`);
  assert.match(ra.created, TIME);
  assert.equal(ra.finished, '');
  assert.equal(ra.logHref, `#/training/${a}`);
  // B waits behind it (one worker).
  const rb = await rowIn(b, 'queued', '0.0%');
  assert.equal(rb.loss, '');
  assert.equal(rb.finished, '');
  assert.equal(await page.textContent('.training-info'), '2 jobs');
  // Newest first.
  assert.deepEqual(await page.$$eval('table.training-table tbody tr', (trs) => trs.map((t) => t.dataset.job)), [b, a]);
  await shot(page, 'training-running');

  // Canceled through the API: the page follows.
  await v1('POST', `/train/cancel/${b}`);
  const cb = await rowIn(b, 'canceled', '0.0%');
  assert.equal(cb.badge, 'canceled');
  assert.match(cb.finished, TIME);

  // A goes on to the end: completed, 100.0 %, final train_loss, and its model links to the
  // Artifacts page.
  fs.writeFileSync(path.join(llm, `go-${a}`), '');
  const ca = await rowIn(a, 'completed', '100.0%');
  assert.equal(ca.loss, '0.4');
  assert.equal(ca.model, 'e2e_model:v1');
  assert.equal(ca.modelHref, '#/artifacts/e2e_model/v1');
  assert.match(ca.finished, TIME);
  await shot(page, 'training-completed');

  // The same facts as the route the page reads.
  const listed = await (await fetch(`${viewer.base}/api/training/jobs`)).json();
  assert.equal(listed.count, 2);
  assert.equal(listed.trainer_configured, true);
  const ja = listed.jobs.find((j) => j.task_id === a);
  assert.equal(ja.status, 'completed');
  assert.equal(ja.progress, 100);
  assert.equal(ja.train_loss, 0.4);
  assert.equal(ja.model_path, 'e2e_model:v1');
  assert.equal(ja.user, 'ada');

  // The model link opens its version on the Artifacts page; the run link the run page.
  await page.click(`tr[data-job="${a}"] td.model a`);
  await page.waitForFunction(() => [...document.querySelectorAll('h2')].some((h) => h.textContent === 'e2e_model:v1'));
  await page.goto(`${viewer.base}/#/training`);
  await page.click(`tr[data-job="${a}"] td.run a`);
  await page.waitForFunction(() => document.querySelector('h1')?.textContent === 'e2e_model');
  assert.equal(new URL(page.url()).hash, `#/runs/${runA}`);
});

test('a job\'s page shows its facts and the trainer\'s task log', async () => {
  const [a] = (await (await fetch(`${viewer.base}/api/training/jobs`)).json()).jobs
    .filter((j) => j.status === 'completed').map((j) => j.task_id);
  await page.goto(`${viewer.base}/#/training`);
  await page.click(`tr[data-job="${a}"] td.log a`);
  await page.waitForSelector('.training-job .job-facts');
  const log = await eventually(async () => {
    const text = await page.textContent('.training-log');
    return text.includes('[PYRUNS] Exit code: 0\n') ? text : null;
  });
  // The task runner's run log: its start and finish banners around the trainer's own output.
  assert.match(log, /^\[PYRUNS\] =+ START =+\n/);
  assert.ok(log.includes(`\ne2e trainer: job ${a}, 2 epochs\ne2e trainer: waiting for go-${a}\ne2e trainer: done\n`), log);
  assert.match(log, /\n\[PYRUNS\] Exit code: 0\n\[PYRUNS\] Duration: [0-9.]+s\n$/);
  assert.equal(await page.textContent('.job-facts td.status'), 'completed');
  assert.equal(await page.textContent('.job-facts td.progress .progress-text'), '100.0%');
  assert.equal(await page.textContent('.job-facts td.train-loss'), '0.4');
  assert.equal(await page.textContent('.job-facts td.model'), 'e2e_model:v1');
  assert.equal(await page.textContent('.job-facts td.user'), 'ada');
  assert.equal(await page.textContent('.log-info'), 'run1.log');
  await shot(page, 'training-job');
  // An unknown job says so instead of showing an empty page.
  await page.goto(`${viewer.base}/#/training/00000000-0000-4000-8000-000000000000`);
  assert.equal(await (await page.waitForSelector('.job-head .error')).innerText(),
    'No training job 00000000-0000-4000-8000-000000000000');
});

test('no page errors', () => {
  assert.deepEqual(pageErrors, []);
});
