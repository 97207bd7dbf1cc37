// The Training page (#/training, #/training/<task_id>): the jobs of the training service API
// (/api/v1/train, docs/API-v1.md). A job is a task of the task runner in the store's training
// workspace whose run is tracked like any run, so the list links each job to its run page and,
// once completed, to its model on the Artifacts page; the detail view shows the trainer's task
// log. Read from GET /api/training/jobs with the viewer's own auth (the UI holds no /api/v1
// token); starting and canceling jobs stays with /api/v1. Polled: quickly while a job is queued
// or running, slowly otherwise.

import { el, fmtTime, fmtNum } from '../util.js';
import { get, enc, qs } from '../api.js';

const POLL_ACTIVE_MS = 1000;
const POLL_IDLE_MS = 10000;
const LOG_TAIL_BYTES = 200000;

const isActive = (status) => status === 'queued' || status === 'running';

// The task runner's badge colours; "canceled" is the API's spelling of the runner's "cancelled".
function badge(status) {
  return el('span.badge', { class: `badge ${status === 'canceled' ? 'cancelled' : status}` }, status);
}

export const progressText = (p) => `${(+p || 0).toFixed(1)}%`;

function progressBar(p) {
  const pct = Math.max(0, Math.min(100, +p || 0));
  return el('span.job-progress', { style: { display: 'inline-flex', alignItems: 'center', gap: '6px' } },
    el('span', { style: { display: 'inline-block', width: '80px', height: '6px', borderRadius: '3px',
      background: 'var(--line, #ddd)', overflow: 'hidden' } },
    el('span', { style: { display: 'block', height: '100%', width: `${pct}%`, background: 'var(--accent, #4e79a7)' } })),
    el('span.progress-text', progressText(p)));
}

// "NAME:vN" -> the Artifacts page of that version.
function modelLink(modelPath) {
  const m = /^(.*):v(\d+)$/.exec(modelPath || '');
  if (!m) return null;
  return el('a.model-link', { href: `#/artifacts/${enc(m[1])}/v${m[2]}` }, modelPath);
}

function modelCell(job) {
  if (job.model_path) return modelLink(job.model_path);
  return el('span.muted', { title: 'the model artifact this job logs when it completes' }, job.model_name);
}

const runLink = (job) => el('a.run-link', { href: `#/runs/${enc(job.run_id)}` }, job.run_id);
const logLink = (job) => el('a.log-link', { href: `#/training/${enc(job.task_id)}` }, 'log');
const lossText = (job) => (job.train_loss == null ? '' : fmtNum(job.train_loss));

function jobRow(job) {
  return el('tr', { dataset: { job: job.task_id, status: job.status } },
    el('td.mono', { title: job.task_id }, el('a', { href: `#/training/${enc(job.task_id)}` }, job.task_id.slice(0, 8))),
    el('td.status', badge(job.status), job.error ? el('div.muted.job-error', job.error) : null),
    el('td.progress', progressBar(job.progress)),
    el('td.train-loss.num', lossText(job)),
    el('td.dataset.mono', job.dataset),
    el('td.model', modelCell(job)),
    el('td.run.mono', runLink(job)),
    el('td.created', fmtTime(job.created_at)),
    el('td.finished', fmtTime(job.finished_at)),
    el('td.log', logLink(job)));
}

function jobTable(jobs) {
  return el('table.grid.training-table',
    el('thead', el('tr', ['Job', 'Status', 'Progress', 'train_loss', 'Dataset', 'Model', 'Run', 'Created',
      'Finished', 'Log'].map((h) => el('th', h)))),
    el('tbody', jobs.map(jobRow)));
}

// Calls `tick` now and then again after each answer, quickly while `active()` holds; a failed
// tick is shown by `onError` and retried at the slow pace.
function poller(tick, active, onError) {
  let timer = 0;
  let stopped = false;
  const loop = async () => {
    let ok = true;
    try { await tick(); } catch (e) {
      ok = false;
      if (e.name !== 'AbortError' && !stopped) onError(e);
    }
    if (!stopped) timer = setTimeout(loop, ok && active() ? POLL_ACTIVE_MS : POLL_IDLE_MS);
  };
  return { start: loop, stop() { stopped = true; clearTimeout(timer); } };
}

export async function renderTraining(main, taskId) {
  return taskId ? renderJob(main, taskId) : renderJobList(main);
}

async function renderJobList(main) {
  const info = el('span.muted.training-info');
  const body = el('div.training-jobs');
  main.append(el('div.training-page',
    el('div.row', el('h1', 'Training'), el('span.grow'), info),
    el('p.muted', 'Jobs of the training service API (', el('code', 'POST /api/v1/train'),
      '): each is a task of the store\'s training workspace with a tracked run; a completed job\'s model is a ',
      el('code', 'model'), ' artifact.'),
    body));
  let jobs = [];
  const controller = new AbortController();
  const poll = poller(async () => {
    const data = await get('/api/training/jobs', { signal: controller.signal });
    jobs = data.jobs;
    info.textContent = `${data.count} job${data.count === 1 ? '' : 's'}` +
      (data.trainer_configured ? '' : ' · no trainer configured (runicorn viewer --llm-service FILE)');
    body.replaceChildren(jobs.length ? jobTable(jobs)
      : el('div.panel.empty', 'No training jobs yet. Start one with ', el('code', 'POST /api/v1/train'),
        ' (docs/API-v1.md).'));
  }, () => jobs.some((j) => isActive(j.status)), (e) => body.replaceChildren(el('div.error', `Error: ${e.message}`)));
  await poll.start();
  return () => { poll.stop(); controller.abort(); };
}

async function renderJob(main, taskId) {
  const head = el('div.job-head');
  const log = el('pre.mono.training-log', { style: { maxHeight: '60vh', overflow: 'auto', whiteSpace: 'pre-wrap' } });
  const logInfo = el('span.muted.log-info');
  main.append(el('div.training-job',
    el('div.row', el('a', { href: '#/training' }, '← Training'), el('span.grow')),
    head,
    el('div.spacer'),
    el('div.row', el('h2', 'Task log'), el('span.grow'), logInfo),
    log));
  const controller = new AbortController();
  let job = null;
  let offset = null;
  let identity = '';
  const poll = poller(async () => {
    const data = await get('/api/training/jobs', { signal: controller.signal });
    job = data.jobs.find((j) => j.task_id === taskId) || null;
    if (!job) {
      head.replaceChildren(el('div.error', `No training job ${taskId}`));
      return;
    }
    head.replaceChildren(
      el('h1', 'Training job ', el('span.mono', job.task_id)),
      el('table.grid.kv.job-facts', el('tbody',
        el('tr', el('th', 'Status'), el('td.status', badge(job.status), job.error ? el('div.muted.job-error', job.error) : null)),
        el('tr', el('th', 'Progress'), el('td.progress', progressBar(job.progress))),
        el('tr', el('th', 'train_loss'), el('td.train-loss', lossText(job))),
        el('tr', el('th', 'Dataset'), el('td.dataset.mono', job.dataset)),
        el('tr', el('th', 'Model'), el('td.model', modelCell(job))),
        el('tr', el('th', 'Run'), el('td.run.mono', runLink(job))),
        el('tr', el('th', 'Started by'), el('td.user', job.user)),
        el('tr', el('th', 'Created'), el('td.created', fmtTime(job.created_at))),
        el('tr', el('th', 'Finished'), el('td.finished', fmtTime(job.finished_at))))));
    try {
      const chunk = await get(`/api/training/jobs/${enc(taskId)}/log` + qs({
        offset: offset ?? undefined, log_identity: identity || undefined, tail_bytes: LOG_TAIL_BYTES,
      }), { signal: controller.signal });
      if (offset == null || chunk.reset) log.textContent = '';
      log.append(chunk.content);
      offset = chunk.offset;
      identity = chunk.log_identity;
      logInfo.textContent = chunk.selected_log;
    } catch (e) {
      if (e.status !== 404) throw e;
      logInfo.textContent = 'no log yet';
    }
  }, () => !job || isActive(job.status), (e) => head.replaceChildren(el('div.error', `Error: ${e.message}`)));
  await poll.start();
  return () => { poll.stop(); controller.abort(); };
}
