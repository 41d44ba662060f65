/**
 * The dashboard's sections as HTML, from a DashboardData. The first page and every pushed snapshot
 * use these same functions, so the live page and a reload never differ. Every value from the
 * store or an agent is escaped; nothing here writes a `style` attribute or an event handler
 * attribute (the Content-Security-Policy allows neither), bars are SVG geometry instead.
 */
import type { DashboardData, LatencyBucket } from './snapshot.ts';

/** Escapes text for HTML element content and double-quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value)
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

/** Bytes in binary units with one decimal: `1.5 MiB`. */
export function humanBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} bytes` : `${value.toFixed(1)} ${units[unit]}`;
}

function humanSeconds(seconds: number): string {
  if (!Number.isFinite(seconds)) return 'longer';
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${Math.round(seconds / 3600)} h`;
}

const time = (iso: string) =>
  `<time datetime="${escapeHtml(iso)}">${escapeHtml(iso.replace('T', ' ').slice(0, 19))}</time>`;

function table(caption: string, headers: string[], rows: string[][], empty: string): string {
  if (rows.length === 0) return `<p class="empty">${escapeHtml(empty)}</p>`;
  const head = headers.map((h) => `<th scope="col">${escapeHtml(h)}</th>`).join('');
  // data-label: on a phone each row becomes a card, and each cell shows its column's name.
  const body = rows
    .map(
      (r) =>
        `<tr>${r.map((cell, i) => `<td data-label="${escapeHtml(headers[i] ?? '')}">${cell}</td>`).join('')}</tr>`,
    )
    .join('');
  return `<table><caption>${escapeHtml(caption)}</caption><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

export function workspacesSection(data: DashboardData): string {
  const rows = data.workspaces.map((w) => [
    escapeHtml(w.name),
    String(w.head),
    String(w.files),
    humanBytes(w.bytes),
    String(w.conflicts),
    w.canResolve ? 'read-write' : 'read-only',
  ]);
  return table(
    'Workspaces',
    ['Workspace', 'Head', 'Files', 'Size', 'Open conflicts', 'Your access'],
    rows,
    'No workspace yet: start an agent.',
  );
}

export function agentsSection(data: DashboardData): string {
  const rows = data.agents.map((a) => [
    `<code>${escapeHtml(a.id)}</code>`,
    escapeHtml(a.workspace),
    '<span class="ok">connected</span>',
    String(a.cursor),
    a.behind === 0 ? 'up to date' : `<span class="warn">${a.behind} behind</span>`,
    String(a.pending),
    `connected ${humanSeconds(a.connectedForSeconds)} ago${a.lastChange ? `; last change ${time(a.lastChange)}` : ''}`,
    a.problems.length === 0
      ? 'none'
      : a.problems
          .map(
            (p) =>
              `<span class="warn">${escapeHtml(p.code)}</span> ${escapeHtml(p.path)}: ${escapeHtml(p.message)}`,
          )
          .join('<br>'),
  ]);
  for (const o of data.offline)
    rows.push([
      `<code>${escapeHtml(o.id)}</code>`,
      escapeHtml(o.workspace),
      '<span class="muted">offline</span>',
      '',
      '',
      '',
      `last change ${time(o.lastChange)}`,
      '',
    ]);
  return table(
    'Agents',
    ['Agent', 'Workspace', 'State', 'Cursor', 'Behind', 'Unpushed', 'Seen', 'Problems'],
    rows,
    'No agent is connected, and none changed anything recently.',
  );
}

function bucketLabel(b: LatencyBucket, previous: number): string {
  const exact = (seconds: number) => (seconds < 1 ? `${seconds * 1000} ms` : `${seconds} s`);
  if (!Number.isFinite(b.le)) return `> ${exact(previous)}`;
  return `≤ ${exact(b.le)}`;
}

export function latencySection(data: DashboardData): string {
  const { buckets, count, sumSeconds } = data.latency;
  if (count === 0) return '<p class="empty">No edit has reached a peer through this hub yet.</p>';
  const max = Math.max(1, ...buckets.map((b) => b.count));
  const rowHeight = 22;
  const bars = buckets
    .map((b, i) => {
      const label = bucketLabel(b, buckets[i - 1]?.le ?? 0);
      const width = Math.round((b.count / max) * 220);
      const y = i * rowHeight;
      return `<g><text x="0" y="${y + 15}" class="axis">${escapeHtml(label)}</text><rect x="90" y="${y + 3}" width="${width}" height="16" class="bar"></rect><text x="${96 + width}" y="${y + 15}" class="value">${b.count}</text></g>`;
    })
    .join('');
  const summary = `${count} peer deliveries, mean ${humanSeconds(sumSeconds / count)}`;
  return `<p>${escapeHtml(summary)} (from the hub's <code>workspace_sync_duration_seconds</code>: a push arriving to each peer acknowledging it applied it).</p><svg role="img" aria-label="Edit-to-peer latency histogram: ${escapeHtml(summary)}" viewBox="0 0 360 ${buckets.length * rowHeight}" class="histogram">${bars}</svg>`;
}

export function trafficSection(data: DashboardData): string {
  const t = data.traffic;
  if (!t) return '<p class="empty">Hub-wide traffic is shown to the admin credential only.</p>';
  const rows = [
    ['Bytes received (request bodies and live messages, since start)', humanBytes(t.bytesIn)],
    ['Bytes sent (response bodies and live messages, since start)', humanBytes(t.bytesOut)],
    ['Current files in all workspaces', humanBytes(t.fileBytes)],
    [
      'Chunk store on disk (deduplicated chunks; includes history and snapshots)',
      humanBytes(t.chunkStoreBytes),
    ],
  ].map(([k, v]) => `<tr><th scope="row">${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`);
  return `<table><caption>Bytes moved</caption><tbody>${rows.join('')}</tbody></table><p class="muted">The hub does not know what rsync would have moved for the same edits; <code>warmsync roi</code> and the benchmarks compare against it.</p>`;
}

export function conflictsSection(data: DashboardData): string {
  const writable = new Set(data.workspaces.filter((w) => w.canResolve).map((w) => w.name));
  const rows = data.conflicts.map((c) => {
    const attrs = `data-workspace="${escapeHtml(c.workspace)}" data-copy="${escapeHtml(c.copyPath)}"`;
    const buttons = writable.has(c.workspace)
      ? (['current', 'copy', 'both'] as const)
          .map(
            (keep) =>
              `<button type="button" data-keep="${keep}" ${attrs} aria-label="Keep ${keep} for ${escapeHtml(c.copyPath)}">Keep ${keep}</button>`,
          )
          .join(' ')
      : '<span class="muted">read-only credential</span>';
    return [
      escapeHtml(c.workspace),
      `<code>${escapeHtml(c.path)}</code>`,
      `<code>${escapeHtml(c.copyPath)}</code>`,
      `<code>${escapeHtml(c.keptAgent)}</code> / <code>${escapeHtml(c.copyAgent)}</code>`,
      time(c.at),
      buttons,
    ];
  });
  return table(
    'Open conflicts',
    ['Workspace', 'Path', 'Copy', 'Kept by / copy by', 'At', 'Resolve'],
    rows,
    'No open conflict.',
  );
}

export function auditSection(data: DashboardData): string {
  const rows = data.audit.map((r) => [
    time(r.at),
    escapeHtml(r.workspace),
    escapeHtml(r.op),
    `<code>${escapeHtml(r.path)}</code>`,
    `<code>${escapeHtml(r.agent)}</code>`,
    r.bytes > 0 ? humanBytes(r.bytes) : '',
    escapeHtml(r.detail),
  ]);
  return table(
    'Recent audit events, newest first',
    ['At', 'Workspace', 'Operation', 'Path', 'By', 'Bytes', 'Detail'],
    rows,
    'No audit event yet.',
  );
}

/** Every live section by element id: what a snapshot carries and the page's script swaps in. */
export function renderSections(data: DashboardData): Record<string, string> {
  return {
    'section-workspaces': workspacesSection(data),
    'section-agents': agentsSection(data),
    'section-latency': latencySection(data),
    'section-traffic': trafficSection(data),
    'section-conflicts': conflictsSection(data),
    'section-audit': auditSection(data),
  };
}
