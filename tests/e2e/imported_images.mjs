// Browser test: a Runicorn store whose run logged images (media/ + image events in
// events.jsonl) is imported with `runicorn import --from-runicorn`, and the run page of our UI
// shows every image (decoded: naturalWidth > 0), with its key and step. Registered as the CTest
// entry web_e2e_imported_images (apps/runicorn/web/CMakeLists.txt), same environment as web_e2e.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { env, tempDir, startViewer, launchBrowser } from './harness.mjs';

const RUN_ID = '20261203_065616_44d2df';
// Two valid PNGs of different sizes (1x1 red, 2x2 blue), written by the "SDK" below.
const RED_1x1 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC';
const BLUE_2x2 = 'iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAD0lEQVR4nGNgYPgPRmAKABf2A/1+6zfzAAAAAElFTkSuQmCC';
const IMAGES = [
  { file: '1796280976000_a1b2c3_sample.png', key: 'sample', step: 1, caption: 'first', png: RED_1x1, width: 1 },
  { file: '1796280977000_d4e5f6_sample.png', key: 'sample', step: 2, caption: null, png: BLUE_2x2, width: 2 },
  { file: '1796280978000_0a0b0c_attention.png', key: 'attention', step: 2, caption: 'head 0', png: BLUE_2x2, width: 2 },
];

let viewer, browser, page, dir;
const pageErrors = [];

// A Runicorn v0.5 store (notes §2.2): <project>/<name>/runs/<id>/ with meta, status, events, media.
function writeRunicornStore(root) {
  const run = path.join(root, 'vision', 'resnet', 'runs', RUN_ID);
  fs.mkdirSync(path.join(run, 'media'), { recursive: true });
  fs.writeFileSync(path.join(run, 'meta.json'), JSON.stringify({ id: RUN_ID, project: 'vision', name: 'resnet', created_at: 1796280975.5 }));
  fs.writeFileSync(path.join(run, 'status.json'), JSON.stringify({ status: 'finished', started_at: 1796280975.5, ended_at: 1796280990.0 }));
  const events = [
    { ts: 1796280976.0, type: 'metrics', data: { loss: 0.9, global_step: 1, time: 1796280976.0, stage: 'train' } },
    { ts: 1796280977.0, type: 'metrics', data: { loss: 0.5, global_step: 2, time: 1796280977.0, stage: 'train' } },
  ];
  for (const img of IMAGES) {
    fs.writeFileSync(path.join(run, 'media', img.file), Buffer.from(img.png, 'base64'));
    events.push({ ts: 1796280976.0 + img.step, type: 'image', data: { key: img.key, path: `media/${img.file}`, step: img.step, caption: img.caption } });
  }
  fs.writeFileSync(path.join(run, 'events.jsonl'), events.map((e) => JSON.stringify(e)).join('\n') + '\n');
}

before(async () => {
  dir = tempDir('runicorn-e2e-images-');
  const from = path.join(dir, 'runicorn');
  const store = path.join(dir, 'store');
  writeRunicornStore(from);
  execFileSync(env.bin, ['import', '--from-runicorn', from, '--storage', store, '--no-progress'], { encoding: 'utf8' });
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

test('the media API lists the imported images in logging order', async () => {
  let body;
  for (let i = 0; i < 100; i++) {  // the viewer indexes the imported run in the background
    const r = await fetch(`${viewer.base}/api/runs/${RUN_ID}/media`);
    if (r.ok) { body = await r.json(); break; }
    await new Promise((res) => setTimeout(res, 100));
  }
  assert.ok(body, 'run not indexed');
  assert.deepEqual(body.images.map((i) => [i.key, i.step, i.caption, i.file]),
    IMAGES.map((i) => [i.key, i.step, i.caption, i.file]));
  const png = await fetch(`${viewer.base}${body.images[0].url}`);
  assert.equal(png.status, 200);
  assert.equal(png.headers.get('content-type'), 'image/png');
  assert.deepEqual(Buffer.from(await png.arrayBuffer()), Buffer.from(RED_1x1, 'base64'));
  assert.equal((await fetch(`${viewer.base}/api/runs/${RUN_ID}/media/..%2Fmeta.json`)).status, 400);
});

test('the run page shows every imported image, decoded', async () => {
  await page.goto(`${viewer.base}/#/runs/${RUN_ID}`);
  await page.waitForSelector('.media-grid figure.media-item img');
  await page.waitForFunction((n) => {
    const imgs = [...document.querySelectorAll('.media-grid img')];
    return imgs.length === n && imgs.every((i) => i.complete && i.naturalWidth > 0);
  }, IMAGES.length, { timeout: 15000 });
  const shown = await page.$$eval('.media-grid figure.media-item', (fs) => fs.map((f) => {
    const img = f.querySelector('img');
    return [img.getAttribute('alt'), img.naturalWidth, f.querySelector('figcaption').textContent];
  }));
  assert.deepEqual(shown, IMAGES.map((i) => [i.key, i.width,
    [i.key, `step ${i.step}`, i.caption].filter(Boolean).join(' · ')]));
  assert.match(await page.textContent('.media-gallery h2'), /Images \(3\)/);
  fs.mkdirSync(env.artifacts, { recursive: true });
  await page.screenshot({ path: path.join(env.artifacts, 'imported-images.png'), fullPage: true });
  assert.deepEqual(pageErrors, []);
});
