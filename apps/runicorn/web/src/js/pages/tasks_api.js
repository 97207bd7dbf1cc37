// Calls to the task runner's routes (/api/workspace, /api/generator, /api/tasks) and the panel
// shown when they are refused for want of the token.
//
// The task routes run commands on this machine, so the viewer wants its token on them even from
// loopback (it prints `http://host:port/?token=T` at start, as Jupyter does; api.js takes the
// token from that URL). A 401 here is not answered with the general token dialog: the page says
// plainly that the token is missing and how to get it, and offers a field to paste it.

import { request, setToken, enc } from '../api.js';
import { el } from '../util.js';

// Set while a pasted token awaits the server's verdict: if the panel comes back, it was refused.
let pasted = false;
const accepted = (r) => { pasted = false; return r; };

export const taskGet = (path, opts = {}) => request(path, { ...opts, noPrompt: true }).then(accepted);
export const taskPost = (path, body = {}) => request(path, { method: 'POST', body, noPrompt: true }).then(accepted);

export const isTokenError = (e) => e && e.status === 401;

export const taskPath = (name, suffix = '') => `/api/tasks/${enc(name)}${suffix}`;

export const STATUSES = ['pending', 'queued', 'running', 'completed', 'failed', 'cancelled'];
export const isActive = (status) => status === 'queued' || status === 'running';

// onToken(token) is called with what the user pasted (already stored for this tab).
export function tokenRequiredPanel(detail, onToken) {
  const refused = pasted;
  pasted = false;
  const input = el('input', { type: 'password', name: 'task-token', placeholder: 'token', autocomplete: 'off', size: 40 });
  const use = () => {
    const t = input.value.trim();
    if (!t) { input.focus(); return; }
    setToken(t);
    pasted = true;
    onToken(t);
  };
  input.addEventListener('keydown', (e) => { if (e.key === 'Enter') use(); });
  return el('div.panel.token-required',
    el('h2', 'Token required'),
    el('p', 'The task runner starts commands on this machine, so its pages need the viewer\'s token, ',
      'even from this machine. Open the URL that ', el('code', 'runicorn viewer'), ' printed when it started (',
      el('code', 'http://…/?token=…'), '), or paste the token here. It is kept in this tab only.'),
    refused ? el('p.error', 'That token was refused: check it against the one the viewer printed.') : null,
    detail ? el('p.muted.mono', detail) : null,
    el('div.row', input, el('button.primary', { onclick: use }, 'Use token')));
}
