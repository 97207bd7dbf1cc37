// End-to-end tests of the Tasks page (issue 17): a real `runicorn viewer --tasks-root` over a
// tiny script workspace (train.py: argparse flags, prints, appends records and tracks to
// $RUNICORN_TASK/task_metrics.jsonl, then prints `tick N` four times a second for --sleep
// seconds), headless Debian chromium via playwright-core. Screenshots go to $E2E_ARTIFACTS.
// Exits non-zero when a test fails.
//
//   node tests/e2e/tasks.mjs          (CTest: web_e2e_tasks)

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { env, tempDir, startViewer, launchBrowser, chartData } from './harness.mjs';

const TOKEN = 'e2e-task-token-5f1c9a';

// Records final_loss = lr / 4 and seed; tracks loss = lr, lr/2, lr/4 (the file format of
// docs/TASKS.md "Records and tracks"; what pyruns.record/track append).
const TRAIN_PY = `import argparse, json, os, time
p = argparse.ArgumentParser()
p.add_argument('--lr', type=float, default=0.1)
p.add_argument('--seed', type=int, default=0)
p.add_argument('--sleep', type=float, default=0)
a = p.parse_args()
print(f"training lr={a.lr} seed={a.seed}", flush=True)
task, run = os.environ['RUNICORN_TASK'], int(os.environ['RUNICORN_TASK_RUN'])
with open(os.path.join(task, 'task_metrics.jsonl'), 'a') as f:
    for loss in (a.lr, a.lr / 2, a.lr / 4):
        f.write(json.dumps({"run": run, "kind": "track", "values": {"loss": loss}, "time": time.time()}) + "\\n")
    f.write(json.dumps({"run": run, "kind": "record", "values": {"final_loss": a.lr / 4, "seed": a.seed}, "time": time.time()}) + "\\n")
for i in range(int(a.sleep * 4)):
    print(f"tick {i}", flush=True)
    time.sleep(0.25)
print("done", flush=True)
`;

let work, project, storage, viewer, browser, page;
const pageErrors = [];
const batchRequests = [];

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

const api = async (p) => {
  const r = await fetch(`${viewer.base}${p}`, { headers: { Authorization: `Bearer ${TOKEN}` } });
  assert.equal(r.status, 200, `${p} -> ${r.status}`);
  return r.json();
};

// {name: status} of the rows the list shows.
const rows = () => page.$$eval('table.tasks-table tbody tr[data-task]',
  (trs) => Object.fromEntries(trs.map((r) => [r.dataset.task, r.dataset.status])));

before(async () => {
  work = tempDir('runicorn-e2e-tasks-');
  project = path.join(work, 'project');
  storage = path.join(work, 'store');
  fs.mkdirSync(project);
  fs.mkdirSync(storage);
  fs.writeFileSync(path.join(project, 'train.py'), TRAIN_PY);
  fs.writeFileSync(path.join(project, 'base.yaml'), 'lr: 0.1\nseed: 0\nsleep: 0\n');
  const tokenFile = path.join(work, 'token');
  fs.writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
  execFileSync(env.bin, ['tasks', '--tasks-root', project, 'init', path.join(project, 'train.py'),
    '--config', path.join(project, 'base.yaml')], { encoding: 'utf8' });
  viewer = await startViewer(storage, ['--tasks-root', project, '--token-file', tokenFile]);
  browser = await launchBrowser();
  page = await browser.context.newPage();
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('dialog', (d) => d.accept());
  page.on('request', (r) => { if (r.url().endsWith('/api/tasks/batch/run')) batchRequests.push(r.postDataJSON()); });
});

after(async () => {
  if (browser) await browser.close();
  if (viewer) await viewer.stop();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

test('without the token the page says a token is required (no silent failure, no dialog)', async () => {
  const p = await browser.context.newPage();  // its own sessionStorage: no token
  try {
    await p.goto(`${viewer.base}/#/tasks`);
    const panel = await p.waitForSelector('.token-required');
    assert.match(await panel.innerText(), /^Token required\n/);
    assert.match(await panel.innerText(), /runicorn viewer printed when it started/);
    assert.equal(await p.$('#token-dialog[open]'), null);
    assert.equal(await p.$('.generator'), null);
    assert.equal(await p.$('.token-required .error'), null);
    await shot(p, 'tasks-token-required');
    // A wrong token pasted there is refused the same way; the right one opens the page.
    await p.fill('.token-required input[name=task-token]', 'wrong-token');
    await p.click('.token-required button');
    await p.waitForSelector('.token-required .error');
    assert.equal(await p.textContent('.token-required .error'), 'That token was refused: check it against the one the viewer printed.');
    assert.equal(await p.evaluate(() => sessionStorage.getItem('runicorn.token')), null);
    await p.fill('.token-required input[name=task-token]', TOKEN);
    await p.click('.token-required button');
    await p.waitForSelector('.tasks-page .generator');
    assert.equal(await p.$('.token-required'), null);
  } finally {
    await p.close();
  }
});

test('the token URL is taken into sessionStorage, dropped from the address bar, and lands on Tasks', async () => {
  await page.goto(`${viewer.base}/?token=${TOKEN}`);
  await page.waitForSelector('.tasks-page .generator');
  assert.equal(page.url(), `${viewer.base}/#/tasks`);
  assert.equal(await page.evaluate(() => sessionStorage.getItem('runicorn.token')), TOKEN);
  assert.equal(await page.textContent('.workspace-name'), 'train (script)');
  // The editor starts from the workspace's template (config_default.yaml).
  await eventually(async () => (await page.inputValue('textarea[name=generator-text]')) === 'lr: 0.1\nseed: 0\nsleep: 0\n');
});

test('generator: live count and preview, then a 3-task batch is created and selected', async () => {
  await page.fill('textarea[name=generator-text]', 'lr: 0.1 | 0.2 | 0.3\nseed: 7\nsleep: 0\n');
  await eventually(async () => (await page.getAttribute('.generator-count', 'data-count')) === '3');
  assert.equal(await page.textContent('.generator-count'), '3 tasks');
  assert.deepEqual(await page.$$eval('.generator-preview li b', (bs) => bs.map((b) => b.textContent)),
    ['lr=0.1', 'lr=0.2', 'lr=0.3']);
  assert.equal(await page.textContent('.generator-preview li:nth-child(2) pre'), 'lr: 0.2\nseed: 7\nsleep: 0\n');
  // A broken template shows the server's error and cannot be created.
  await page.fill('textarea[name=generator-text]', 'lr: (0.1 | 0.2)\nseed: (1 | 2 | 3)\n');
  await eventually(async () => (await page.textContent('.generator-error')).length > 0);
  assert.match(await page.textContent('.generator-error'), /All \(zip\) parameters must have equal length/);
  assert.equal(await page.isDisabled('button[name=create-tasks]'), true);
  await page.fill('textarea[name=generator-text]', 'lr: 0.1 | 0.2 | 0.3\nseed: 7\nsleep: 0\n');
  await eventually(async () => (await page.getAttribute('.generator-count', 'data-count')) === '3');
  await page.fill('input[name=name-prefix]', 'sweep');
  await page.uncheck('input[name=append-timestamp]');
  await shot(page, 'tasks-generator');
  await page.click('button[name=create-tasks]');
  await eventually(async () => Object.keys(await rows()).length === 3);
  assert.deepEqual(await rows(), { 'sweep_1-of-3': 'pending', 'sweep_2-of-3': 'pending', 'sweep_3-of-3': 'pending' });
  assert.equal(await page.textContent('.generator-created'), 'Created 3: sweep_1-of-3, sweep_2-of-3, sweep_3-of-3');
  assert.equal(await page.textContent('button[name=run-selected]'), 'Run selected (3)');
  assert.equal(await page.textContent('.status-chips [data-status=pending] .chip-count'), '3');
});

test('batch run with 2 workers completes every task; filters and search narrow the list', async () => {
  await page.fill('input[name=workers]', '2');
  await page.click('button[name=run-selected]');
  assert.deepEqual(batchRequests.at(-1), { task_names: ['sweep_1-of-3', 'sweep_2-of-3', 'sweep_3-of-3'], max_workers: 2 });
  // Under the 30 s poll that runs beside the events stream: the stream must carry the changes.
  await eventually(async () => Object.values(await rows()).every((s) => s === 'completed'), 25000);
  assert.deepEqual(await rows(), { 'sweep_1-of-3': 'completed', 'sweep_2-of-3': 'completed', 'sweep_3-of-3': 'completed' });
  assert.match(await page.textContent('.task-message'), /^Started 3 with 2 workers$/);
  // Status changes reach the list through the events stream when the viewer serves it.
  const hasEvents = await page.evaluate((token) => new Promise((resolve) => {
    const ws = new WebSocket(`ws://${location.host}/api/tasks/events?token=${token}`);
    ws.onopen = () => { ws.close(); resolve(true); };
    ws.onerror = () => resolve(false);
  }), TOKEN);
  assert.equal(await page.textContent('.tasks-head .live-info'), hasEvents ? 'live' : '');
  const listed = await api('/api/tasks');
  assert.deepEqual(listed.status_counts, { pending: 0, queued: 0, running: 0, completed: 3, failed: 0, cancelled: 0 });
  await shot(page, 'tasks-list-completed');

  await page.click('.status-chips [data-status=failed]');
  await eventually(async () => (await page.textContent('table.tasks-table tbody')) === 'No tasks match.');
  assert.match(page.url(), /#\/tasks\?status=failed$/);
  await page.click('.status-chips [data-status=completed]');
  await eventually(async () => Object.keys(await rows()).length === 3);
  await page.fill('input[name=task-search]', '2-OF');
  await eventually(async () => Object.keys(await rows()).length === 1);
  assert.deepEqual(await rows(), { 'sweep_2-of-3': 'completed' });
  await page.fill('input[name=task-search]', '');
  await page.click('.status-chips [data-status=all]');
  await eventually(async () => Object.keys(await rows()).length === 3);
});

test('task detail: config, run history, records, tracks chart and log; rerun appends run 2', async () => {
  await page.click('a[href="#/tasks/sweep_2-of-3"]');
  await page.waitForSelector('.task-page[data-status=completed] table.task-history');
  assert.equal(await page.textContent('.task-config'), 'lr: 0.2\nseed: 7\nsleep: 0\n');
  const log = await eventually(async () => {
    const t = await page.textContent('pre.task-log');
    return t.includes('[PYRUNS] Exit code: 0') && t;
  });
  assert.match(log, /^\[PYRUNS\] =+ START =+\n\[PYRUNS\] Task sweep_2-of-3 started at /);
  assert.match(log, /\ntraining lr=0\.2 seed=7\ndone\n/);
  assert.equal(await page.inputValue('select[name=log-file]'), 'run1.log');
  const history = await page.$$eval('table.task-history tbody tr', (trs) => trs.map((r) => [r.dataset.run, r.dataset.status, r.cells[5].textContent]));
  assert.deepEqual(history, [['1', 'completed', '0']]);
  const records = await page.$$eval('table.task-records tbody tr', (trs) => trs.map((r) =>
    [r.dataset.run, ...[...r.querySelectorAll('td[data-key]')].map((c) => `${c.dataset.key}=${c.textContent}`)]));
  assert.deepEqual(records, [['1', 'final_loss=0.05', 'seed=7']]);
  const charts = await chartData(page);
  assert.equal(charts.length, 1);
  assert.equal(charts[0].metric, 'loss');
  assert.deepEqual(charts[0].x, [0, 1, 2]);
  assert.deepEqual(charts[0].ys, [[0.2, 0.1, 0.05]]);
  await shot(page, 'tasks-detail');

  assert.equal(await page.textContent('button[name=run-task]'), 'Rerun');
  await page.click('button[name=run-task]');
  await page.waitForSelector('.task-page[data-status=completed] table.task-history tbody tr[data-run="2"][data-status=completed]', { timeout: 30000 });
  assert.deepEqual(await page.$$eval('table.task-history tbody tr', (trs) => trs.map((r) => r.dataset.run)), ['2', '1']);
  assert.deepEqual(await page.$$eval('table.task-records tbody tr', (trs) => trs.map((r) => r.dataset.run)), ['1', '2']);
  assert.deepEqual((await chartData(page))[0].ys, [[0.2, 0.1, 0.05], [0.2, 0.1, 0.05]]);
  await eventually(async () => (await page.textContent('pre.task-log')).includes('[PYRUNS] Exit code: 0'));
  assert.equal(await page.inputValue('select[name=log-file]'), 'run2.log');
  const detail = await api('/api/tasks/sweep_2-of-3');
  assert.deepEqual(detail.run_statuses, ['completed', 'completed']);
});

test('a long task shows its live log, and Cancel stops it: cancelled, process gone', async (t) => {
  await page.goto(`${viewer.base}/#/tasks`);
  await page.selectOption('select[name=generator-mode]', 'yaml');
  await page.fill('textarea[name=generator-text]', 'lr: 0.5\nseed: 1\nsleep: 60\n');
  await eventually(async () => (await page.getAttribute('.generator-count', 'data-count')) === '1');
  await page.fill('input[name=name-prefix]', 'long');
  await page.uncheck('input[name=append-timestamp]');
  await page.click('button[name=create-tasks]');
  await eventually(async () => (await rows()).long === 'pending');
  await page.click('tr[data-task=long] button[name=run]');
  await eventually(async () => (await rows()).long === 'running', 30000);
  await page.click('a[href="#/tasks/long"]');
  await page.waitForSelector('.task-page[data-status=running]');
  // The log follows while the task runs (stream or polling): ticks printed after the page
  // opened appear without a reload.
  await eventually(async () => (await page.textContent('pre.task-log')).includes('training lr=0.5 seed=1\ntick 0\n'));
  const lastTick = (t) => Math.max(...[...t.matchAll(/^tick (\d+)$/gm)].map((m) => +m[1]));
  const first = lastTick(await page.textContent('pre.task-log'));
  await eventually(async () => lastTick(await page.textContent('pre.task-log')) >= first + 4);
  const followed = await page.textContent('pre.task-log');
  assert.ok(followed.includes(Array.from({ length: first + 5 }, (_, i) => `tick ${i}\n`).join('')), 'ticks in order, none twice');
  // The page uses the log stream when the viewer serves it, and polls only when it does not.
  const hasStream = await page.evaluate((token) => new Promise((resolve) => {
    const ws = new WebSocket(`ws://${location.host}/api/tasks/long/logs/stream?offset=0&token=${token}`);
    ws.onopen = () => { ws.close(); resolve(true); };
    ws.onerror = () => resolve(false);
  }), TOKEN);
  assert.equal(await page.textContent('.log-info'), hasStream ? 'live (stream)' : 'live (polling)');
  t.diagnostic(`log followed by ${hasStream ? 'stream' : 'polling'}`);
  assert.equal(await page.isDisabled('button[name=run-task]'), true);
  const pid = (await api('/api/tasks/long')).pids[0];
  assert.ok(pid > 0);
  process.kill(pid, 0);  // alive
  await shot(page, 'tasks-long-running');

  await page.click('button[name=cancel-task]');
  await page.waitForSelector('.task-page[data-status=cancelled]', { timeout: 30000 });
  assert.deepEqual(await page.$$eval('table.task-history tbody tr', (trs) => trs.map((r) => [r.dataset.run, r.dataset.status])),
    [['1', 'cancelled']]);
  await eventually(async () => (await page.textContent('pre.task-log')).includes('[PYRUNS] Final status: cancelled'));
  assert.doesNotMatch(await page.textContent('pre.task-log'), /\ndone\n/);
  assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' });
  assert.equal((await api('/api/tasks/long')).status, 'cancelled');
  assert.equal(await page.isDisabled('button[name=cancel-task]'), true);
  await shot(page, 'tasks-cancelled');
});

test('Delete selected moves a task to the trash and off the list', async () => {
  await page.goto(`${viewer.base}/#/tasks`);
  await eventually(async () => Object.keys(await rows()).length === 4);
  await page.check('tr[data-task="sweep_1-of-3"] input[type=checkbox]');
  await page.click('button[name=delete-selected]');  // the confirm() is accepted
  await eventually(async () => Object.keys(await rows()).length === 3);
  assert.deepEqual(Object.keys(await rows()).sort(), ['long', 'sweep_2-of-3', 'sweep_3-of-3']);
  assert.equal(await page.textContent('.task-message'), 'Deleted 1');
  assert.ok(fs.readdirSync(path.join(project, '_pyruns_/train/tasks/.trash')).some((d) => d.startsWith('sweep_1-of-3')));
});

test('a viewer without --token makes a task token and prints the URL that opens the Tasks page', async () => {
  const store2 = path.join(work, 'store2');
  fs.mkdirSync(store2);
  const open = await startViewer(store2, ['--tasks-root', project]);
  const p = await browser.context.newPage();
  try {
    const url = await eventually(() => /tasks of \S+ need the token: (http:\/\/\S+\/\?token=[0-9a-f]+)\n/.exec(open.output())?.[1]);
    // The other routes need no token on this viewer; the task routes refuse a request without it.
    assert.equal((await fetch(`${open.base}/api/tasks`)).status, 401);
    await p.goto(url);
    await p.waitForSelector('.tasks-page table.tasks-table tbody tr[data-task]');
    assert.equal(p.url(), `${open.base}/#/tasks`);
    assert.equal(await p.textContent('.workspace-name'), 'train (script)');
    assert.equal(await p.$$eval('table.tasks-table tbody tr[data-task]', (trs) => trs.length), 3);
    await shot(p, 'tasks-printed-url');
  } finally {
    await p.close();
    await open.stop();
  }
});

test('no uncaught errors on the page', () => {
  assert.deepEqual(pageErrors, []);
});
