// Follows one task's log: the tail first (GET /api/tasks/{name}/logs), then new bytes from the
// returned offset, over WS /api/tasks/{name}/logs/stream when the viewer has it, else by polling
// GET …/logs?offset=&log_identity= (the same protocol the stream speaks: `reset` means the file
// was replaced or truncated and the content starts again at 0).
//
// Which file: the one the user picked, else the server's default (queue.log while queued, the
// current run's log while running). Once the default is a runN.log it is pinned, so the end of a
// failed run stays on screen instead of switching to error.log.

import { wsUrl, enc, qs } from '../api.js';
import { taskGet, taskPath, isTokenError } from './tasks_api.js';

const POLL_MS = 1000;
const RUN_LOG = /^run\d+\.log$/;

// The stream route is probed once per page load; a viewer without it answers the upgrade with an
// error before opening, and then every follower polls.
let streamAvailable = null;

export class TaskLogFollower {
  // sink: {reset(text), append(text), logs(available, selected), info(text), tokenError(e)}
  constructor(name, sink) {
    this.name = name;
    this.sink = sink;
    this.file = '';          // explicit choice or pinned run log; '' = the server's default
    this.offset = null;      // null: next read is the tail
    this.identity = '';
    this.following = false;
    this.ws = null;
    this.timer = 0;
    this.busy = false;
    this.stopped = false;
  }

  // Shows `file` ('' = default) from its tail; keeps following while `follow`.
  async open(file, follow) {
    this.closeLive();
    this.file = file || '';
    this.offset = null;
    this.identity = '';
    this.following = follow;
    await this.read();
    if (this.following) this.live();
  }

  // The task is no longer active: read what is left, then stop.
  async finish() {
    this.following = false;
    this.closeLive();
    await this.read();
  }

  stop() {
    this.stopped = true;
    this.following = false;
    this.closeLive();
  }

  closeLive() {
    clearTimeout(this.timer);
    this.timer = 0;
    if (this.ws) { const ws = this.ws; this.ws = null; ws.onclose = null; ws.close(); }
  }

  accept(chunk) {
    const selected = chunk.selected_log || chunk.log_file_name || this.file;
    if (!this.file && RUN_LOG.test(selected || '') && this.following) this.file = selected;
    if (chunk.available_logs) this.sink.logs(chunk.available_logs, selected);
    if (this.offset == null || chunk.reset || chunk.type === 'reset') this.sink.reset(chunk.content || '');
    else if (chunk.content) this.sink.append(chunk.content);
    if (chunk.offset != null) this.offset = chunk.offset;
    if (chunk.log_identity) this.identity = chunk.log_identity;
  }

  async read() {
    if (this.busy || this.stopped) return;
    this.busy = true;
    try {
      const params = { log_file_name: this.file || undefined };
      if (this.offset != null) Object.assign(params, { offset: this.offset, log_identity: this.identity || undefined });
      const chunk = await taskGet(taskPath(this.name, '/logs') + qs(params));
      if (!this.stopped) this.accept(chunk);
    } catch (e) {
      if (isTokenError(e)) { this.stop(); this.sink.tokenError(e); return; }
      // 404: the log does not exist yet (queued, or a run that is just starting).
      if (e.status === 404) { if (this.offset == null) this.sink.info('no log yet'); } else this.sink.info(`log: ${e.message}`);
    } finally {
      this.busy = false;
    }
  }

  live() {
    if (this.stopped || !this.following) return;
    if (streamAvailable === false || this.offset == null) { this.poll(); return; }
    const params = { offset: String(this.offset) };
    if (this.file) params.log_file_name = this.file;
    if (this.identity) params.log_identity = this.identity;
    const ws = new WebSocket(wsUrl(`/api/tasks/${enc(this.name)}/logs/stream`, params));
    let opened = false;
    this.ws = ws;
    ws.onopen = () => { opened = true; streamAvailable = true; this.sink.info('live (stream)'); };
    ws.onmessage = (ev) => {
      let msg;
      try { msg = JSON.parse(ev.data); } catch { return; }
      if (msg.type === 'chunk' || msg.type === 'reset') this.accept(msg);
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (!opened && streamAvailable !== true) streamAvailable = false;
      // Closed by the server (run over, task gone) or refused: continue by polling while active.
      this.poll();
    };
  }

  poll() {
    if (this.stopped || !this.following) return;
    this.sink.info('live (polling)');
    this.timer = setTimeout(async () => {
      await this.read();
      if (this.offset != null && streamAvailable !== false && !this.ws) this.live();
      else this.poll();
    }, POLL_MS);
  }
}
