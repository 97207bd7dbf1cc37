// The /docs page (openapi.h): reads /openapi.json with the tab's token (the web UI keeps it in
// sessionStorage under "runicorn.token") and lists every operation with a form to try it.
// Self-contained: no CDN, no external script or style, since the viewer may run offline.
namespace runicorn::server {

extern const char kDocsPage[];
const char kDocsPage[] = R"html(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>runicorn API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#111827;background:#f9fafb}
header{padding:14px 24px;background:#111827;color:#fff}header h1{margin:0;font-size:18px}
main{max-width:1100px;margin:0 auto;padding:16px 24px}
input#filter{width:100%;padding:8px;border:1px solid #d1d5db;border-radius:6px;margin-bottom:12px}
h2{font-size:15px;margin:18px 0 6px;text-transform:uppercase;color:#6b7280}
details.op{background:#fff;border:1px solid #e5e7eb;border-radius:6px;margin:4px 0}
details.op summary{cursor:pointer;padding:6px 10px;display:flex;gap:10px;align-items:center}
.m{font:bold 12px monospace;padding:2px 6px;border-radius:4px;color:#fff;min-width:52px;text-align:center}
.GET{background:#2563eb}.POST{background:#16a34a}.PUT{background:#d97706}.DELETE{background:#dc2626}.PATCH{background:#7c3aed}
code.p{font-family:monospace}.s{color:#6b7280}
.body{padding:8px 12px;border-top:1px solid #e5e7eb}
label{display:block;margin:4px 0}label span{display:inline-block;min-width:140px;font-family:monospace}
textarea{width:100%;min-height:70px;font-family:monospace}
pre{background:#f3f4f6;padding:8px;overflow:auto;max-height:360px;white-space:pre-wrap}
</style></head><body>
<header><h1>runicorn viewer API</h1><div id="info" class="s"></div></header>
<main><input id="filter" placeholder="filter operations (path or summary)" autofocus>
<div id="ops">Loading /openapi.json ...</div></main>
<script>
'use strict';
const TOKEN_KEY = 'runicorn.token';
function headers(extra) {
  const h = Object.assign({}, extra || {});
  const t = sessionStorage.getItem(TOKEN_KEY);
  if (t) h.Authorization = 'Bearer ' + t;
  return h;
}
function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) if (k === 'class') e.className = v; else e.setAttribute(k, v);
  for (const k of kids) e.append(k);
  return e;
}
function operation(path, method, op) {
  const d = el('details', {class: 'op', 'data-path': path, 'data-method': method.toUpperCase()});
  d.append(el('summary', {}, el('span', {class: 'm ' + method.toUpperCase()}, method.toUpperCase()),
                         el('code', {class: 'p'}, path), el('span', {class: 's'}, op.summary || '')));
  const body = el('div', {class: 'body'});
  const inputs = [];
  for (const p of op.parameters || []) {
    const i = el('input', {name: p.name, placeholder: (p.schema && p.schema.type) || 'string'});
    inputs.push([p, i]);
    body.append(el('label', {}, el('span', {}, p.name + (p.required ? '*' : '') + ' (' + p.in + ')'), i,
                   ' ', el('small', {class: 's'}, p.description || '')));
  }
  let text = null;
  if (op.requestBody) {
    const type = Object.keys(op.requestBody.content)[0];
    if (type === 'application/json') { text = el('textarea', {placeholder: 'JSON body'}); body.append(text); }
    else body.append(el('div', {class: 's'}, 'Body: ' + type + ' (send it with curl)'));
  }
  const out = el('pre', {});
  const button = el('button', {}, 'Try it');
  button.addEventListener('click', async () => {
    let url = path;
    const q = new URLSearchParams();
    for (const [p, i] of inputs) {
      if (p.in === 'path') url = url.replace('{' + p.name + '}', encodeURIComponent(i.value));
      else if (i.value !== '') q.append(p.name, i.value);
    }
    if ([...q].length) url += '?' + q;
    const init = {method: method.toUpperCase(), headers: headers()};
    if (text && text.value.trim()) { init.body = text.value; init.headers['Content-Type'] = 'application/json'; }
    out.textContent = init.method + ' ' + url + ' ...';
    try {
      const r = await fetch(url, init);
      const type = r.headers.get('content-type') || '';
      let shown = await r.text();
      if (type.includes('json')) { try { shown = JSON.stringify(JSON.parse(shown), null, 2); } catch (e) {} }
      out.textContent = r.status + ' ' + r.statusText + '\n' + shown;
    } catch (e) { out.textContent = String(e); }
  });
  body.append(button, out);
  d.append(body);
  return d;
}
async function main() {
  const ops = document.getElementById('ops');
  const r = await fetch('/openapi.json', {headers: headers()});
  if (!r.ok) { ops.textContent = 'GET /openapi.json: ' + r.status + ' (open the web UI with ?token=... first)'; return; }
  const doc = await r.json();
  document.getElementById('info').textContent = doc.info.title + ' ' + doc.info.version + ' \u00b7 OpenAPI ' + doc.openapi;
  ops.textContent = '';
  const groups = new Map();
  for (const [path, item] of Object.entries(doc.paths))
    for (const [method, op] of Object.entries(item)) {
      const tag = (op.tags && op.tags[0]) || 'api';
      if (!groups.has(tag)) groups.set(tag, []);
      groups.get(tag).push(operation(path, method, op));
    }
  for (const [tag, list] of groups) { ops.append(el('h2', {}, tag)); for (const d of list) ops.append(d); }
  document.getElementById('filter').addEventListener('input', (e) => {
    const f = e.target.value.toLowerCase();
    for (const d of ops.querySelectorAll('details.op'))
      d.style.display = !f || d.textContent.toLowerCase().includes(f) ? '' : 'none';
  });
}
main();
</script></body></html>
)html";

}  // namespace runicorn::server
