// Shared by the e2e suite (run.mjs) and the performance measurement (perf.mjs): a real
// `runicorn viewer` on a loopback port over a generated store, and headless Debian chromium
// driven by playwright-core (never a downloaded browser).
//
// Environment (set by CTest, see apps/runicorn/web/CMakeLists.txt; defaults fit build-web/):
//   RUNICORN_BIN, RUNICORN_FIXTURE, RUNICORN_WEB_ROOT, CHROMIUM, E2E_ARTIFACTS

import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const build = path.join(repo, 'build-web');

export const env = {
  bin: process.env.RUNICORN_BIN || path.join(build, 'apps/runicorn'),
  fixture: process.env.RUNICORN_FIXTURE || path.join(build, 'apps/runicorn-web/runicorn_e2e_fixture'),
  webRoot: process.env.RUNICORN_WEB_ROOT || path.join(build, 'apps/web'),
  chromium: process.env.CHROMIUM || '/usr/bin/chromium',
  artifacts: process.env.E2E_ARTIFACTS || path.join(build, 'e2e-artifacts'),
};

export function tempDir(prefix) {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function fixture(...args) {
  return JSON.parse(execFileSync(env.fixture, args, { encoding: 'utf8', maxBuffer: 1 << 20 }).trim().split('\n').pop());
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => { const { port } = srv.address(); srv.close(() => resolve(port)); });
    srv.on('error', reject);
  });
}

// Starts `runicorn viewer` and waits for /api/health.
export async function startViewer(storage, extraArgs = []) {
  const port = await freePort();
  const args = ['viewer', '--storage', storage, '--port', String(port), '--web-root', env.webRoot, ...extraArgs];
  const proc = spawn(env.bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  proc.stdout.on('data', (d) => { output += d; });
  proc.stderr.on('data', (d) => { output += d; });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30000;
  for (;;) {
    if (proc.exitCode != null) throw new Error(`runicorn viewer exited (${proc.exitCode}): ${output}`);
    try {
      const r = await fetch(`${base}/api/health`);
      if (r.ok) break;
    } catch { /* not up yet */ }
    if (Date.now() > deadline) { proc.kill('SIGTERM'); throw new Error(`viewer did not start: ${output}`); }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    base, port, proc,
    output: () => output,
    async stop() {
      if (proc.exitCode != null) return;
      const done = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await done;
      clearTimeout(t);
    },
  };
}

// A fresh browser profile per call: nothing cached between launches.
export async function launchBrowser() {
  const profile = tempDir('runicorn-chromium-');
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: env.chromium,
    headless: true,
    viewport: { width: 1400, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  return {
    context,
    async close() {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

// The live writer: resolves with its run id once it has logged its first steps.
export function startWriter(storage, first = 20, second = 20) {
  const proc = spawn(env.fixture, ['write', storage, String(first), String(second)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = readline.createInterface({ input: proc.stdout });
  const waiters = [];
  const seen = [];
  lines.on('line', (l) => { seen.push(l); for (const w of waiters.splice(0)) w(); });
  const waitFor = (prefix) => new Promise((resolve, reject) => {
    const check = () => {
      const hit = seen.find((l) => l.startsWith(prefix));
      if (hit) return resolve(hit);
      if (proc.exitCode != null) return reject(new Error(`writer exited ${proc.exitCode}`));
      waiters.push(check);
    };
    check();
  });
  return {
    proc,
    async ready() { return (await waitFor('READY ')).split(' ')[1]; },
    go() { proc.stdin.write('go\n'); },
    done() { return waitFor('DONE'); },
    async finish() { proc.stdin.end(); await new Promise((r) => (proc.exitCode != null ? r() : proc.once('exit', r))); },
  };
}

// The data uPlot draws for every chart on the page: [{metric, series: n, x: [...], ys: [[...]]}].
export async function chartData(page) {
  return page.evaluate(() => [...document.querySelectorAll('.chart')].map((box) => {
    const body = box.querySelector('.chart-body');
    const u = body && body._chart && body._chart.u;
    return {
      metric: box.dataset.metric,
      series: u ? u.series.length - 1 : 0,
      x: u ? Array.from(u.data[0]) : [],
      ys: u ? u.data.slice(1).map((a) => Array.from(a)) : [],
      width: u ? Math.round(u.bbox.width / devicePixelRatio) : 0,
    };
  }));
}
