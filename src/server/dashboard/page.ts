/**
 * The dashboard's two documents: the login page and the live page. Each carries its CSS and its
 * script inline under a per-response nonce, and the Content-Security-Policy built here allows
 * nothing else: no external asset, no inline handler or style attribute, no framing.
 */
import { escapeHtml, renderSections } from './render.ts';
import type { DashboardData } from './snapshot.ts';

/** The policy for a document whose inline style and script carry `nonce`. */
export function contentSecurityPolicy(nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src 'nonce-${nonce}'`,
    "connect-src 'self'",
    'img-src data:',
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');
}

const CSS = `
:root { color-scheme: light dark; --fg: #1b1f24; --bg: #f6f7f9; --card: #fff; --line: #d5d9de; --accent: #1f6feb; --warn: #9a3412; --ok: #166534; --muted: #57606a; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --bg: #0d1117; --card: #161b22; --line: #30363d; --accent: #58a6ff; --warn: #fdba74; --ok: #86efac; --muted: #9da7b1; } }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: center; justify-content: space-between; padding: .75rem 1rem; border-bottom: 1px solid var(--line); background: var(--card); }
header h1 { font-size: 1.15rem; margin: 0; }
main { display: grid; gap: 1rem; padding: 1rem; grid-template-columns: repeat(auto-fit, minmax(min(100%, 32rem), 1fr)); }
section { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: .75rem 1rem; overflow-x: auto; min-width: 0; }
section.wide { grid-column: 1 / -1; }
h2 { font-size: 1rem; margin: 0 0 .5rem; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; }
caption { text-align: left; font-weight: 600; padding-bottom: .25rem; position: absolute; left: -9999px; }
th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
td code, td time { white-space: nowrap; }
.ok { color: var(--ok); } .warn { color: var(--warn); } .muted, .empty { color: var(--muted); }
button, input { font: inherit; }
button { border: 1px solid var(--line); background: var(--bg); color: var(--fg); border-radius: 6px; padding: .25rem .6rem; cursor: pointer; min-height: 2rem; }
button:hover, button:focus-visible { border-color: var(--accent); }
button:disabled { opacity: .5; cursor: progress; }
.status { color: var(--muted); font-size: .85rem; }
.histogram { width: 100%; max-width: 26rem; height: auto; }
@media (max-width: 640px) {
  main { padding: .5rem; gap: .5rem; }
  section { padding: .5rem .75rem; }
  table, tbody, tr, td { display: block; width: 100%; }
  thead { position: absolute; left: -9999px; }
  tr { border-bottom: 1px solid var(--line); padding: .35rem 0; }
  td { border: 0; padding: .1rem 0; overflow-wrap: anywhere; }
  td code, td time { white-space: normal; }
  td[data-label]::before { content: attr(data-label) ": "; color: var(--muted); }
  td:empty { display: none; }
  tbody th { display: block; border: 0; padding: .1rem 0 0; }
}
.histogram .bar { fill: var(--accent); } .histogram text { fill: var(--fg); font-size: 12px; }
form.inline { display: inline; }
.login { max-width: 26rem; margin: 10vh auto; padding: 1.25rem; background: var(--card); border: 1px solid var(--line); border-radius: 8px; }
.login label { display: block; margin: .75rem 0 .25rem; font-weight: 600; }
.login input { width: 100%; padding: .45rem; border: 1px solid var(--line); border-radius: 6px; background: var(--bg); color: var(--fg); }
.login button { margin-top: .75rem; }
.error { color: var(--warn); }
`;

/** The live page's script: swaps in changed sections from the event stream; resolves on click. */
const SCRIPT = `
const csrf = document.querySelector('meta[name="csrf-token"]').content;
const status = document.getElementById('live-status');
const notice = document.getElementById('notice');
const shown = new Map();
const events = new EventSource('/dashboard/events');
events.addEventListener('snapshot', (event) => {
  const snapshot = JSON.parse(event.data);
  for (const [id, html] of Object.entries(snapshot.sections)) {
    if (shown.get(id) === html) continue;
    const element = document.getElementById(id);
    if (!element) continue;
    element.innerHTML = html;
    shown.set(id, html);
  }
  status.textContent = 'Live, updated ' + new Date(snapshot.data.at).toLocaleTimeString();
  document.body.dataset.snapshotAt = snapshot.data.at;
});
events.addEventListener('end', () => { events.close(); location.assign('/login'); });
events.addEventListener('error', () => { status.textContent = 'Reconnecting…'; });
document.addEventListener('click', async (event) => {
  const button = event.target.closest('button[data-keep]');
  if (!button) return;
  for (const b of document.querySelectorAll('button[data-copy]')) if (b.dataset.copy === button.dataset.copy) b.disabled = true;
  notice.textContent = 'Resolving ' + button.dataset.copy + '…';
  try {
    const reply = await fetch('/dashboard/resolve', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
      body: JSON.stringify({ workspace: button.dataset.workspace, path: button.dataset.copy, keep: button.dataset.keep }),
    });
    const body = await reply.json();
    notice.textContent = reply.ok
      ? body.results.map((r) => r.path + ': ' + r.message).join('; ')
      : 'Not resolved: ' + body.message;
  } catch (error) {
    notice.textContent = 'Not resolved: ' + error.message;
  }
});
`;

function document_(title: string, nonce: string, head: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)}</title><link rel="icon" href="data:,">${head}<style nonce="${nonce}">${CSS}</style></head><body>${body}</body></html>`;
}

export function loginPage(nonce: string, error?: string): string {
  const message = error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : '';
  return document_(
    'warmsync: log in',
    nonce,
    '',
    `<main class="login-main"><form class="login" method="post" action="/login"><h1>warmsync hub</h1>${message}<p>Open the link <code>warmsync serve</code> printed, or paste the admin credential or a workspace credential.</p><label for="token">Credential</label><input id="token" name="token" type="password" autocomplete="current-password" required spellcheck="false"><button type="submit">Log in</button></form></main>`,
  );
}

export function dashboardPage(nonce: string, csrf: string, data: DashboardData): string {
  const sections = renderSections(data);
  const section = (id: string, title: string, wide = false) =>
    `<section aria-labelledby="${id}-title"${wide ? ' class="wide"' : ''}><h2 id="${id}-title">${escapeHtml(title)}</h2><div id="${id}">${sections[id] ?? ''}</div></section>`;
  return document_(
    'warmsync hub',
    nonce,
    `<meta name="csrf-token" content="${escapeHtml(csrf)}">`,
    `<header><h1>warmsync hub</h1><span class="status" id="live-status" aria-live="polite">Connecting…</span><span>Logged in as ${escapeHtml(data.who)} <form class="inline" method="post" action="/logout"><input type="hidden" name="csrf" value="${escapeHtml(csrf)}"><button type="submit">Log out</button></form></span></header>
<p id="notice" class="status" role="status" aria-live="polite"></p>
<main>${section('section-workspaces', 'Workspaces', true)}${section('section-agents', 'Agents', true)}${section('section-latency', 'Edit-to-peer latency')}${section('section-traffic', 'Bytes moved')}${section('section-conflicts', 'Conflicts', true)}${section('section-audit', 'Recent audit events', true)}</main>
<script nonce="${nonce}">${SCRIPT}</script>`,
  );
}
