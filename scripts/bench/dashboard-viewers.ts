#!/usr/bin/env bun
/**
 * Open dashboard pages, for the fan-out bench: logs in once with the one-time link `serve`
 * prints, as a browser following it would, then holds COUNT live event streams
 * (`GET /dashboard/events`) open on that session, as that many open tabs do, reading every
 * snapshot the hub sends.
 *
 * Usage: bun scripts/bench/dashboard-viewers.ts LOGIN_URL COUNT
 * Prints `ready N` once every stream has had its first snapshot, then on SIGTERM
 * `snapshots TOTAL BYTES` (snapshots read over all streams, and their bytes) before it exits.
 */
export {};

const [loginUrl, countText] = process.argv.slice(2);
const count = Number(countText);
if (!loginUrl || !Number.isInteger(count) || count < 1) {
  console.error('usage: dashboard-viewers.ts LOGIN_URL COUNT');
  process.exit(2);
}

const login = await fetch(loginUrl, { redirect: 'manual' });
const cookie = login.headers.get('set-cookie')?.split(';')[0] ?? '';
if (login.status !== 303 || cookie === '') {
  console.error(`login failed: ${login.status} ${await login.text()}`);
  process.exit(1);
}
const eventsUrl = new URL('/dashboard/events', loginUrl).href;

let snapshots = 0;
let bytes = 0;
let ready = 0;

async function view(): Promise<void> {
  const response = await fetch(eventsUrl, { headers: { cookie } });
  if (response.status !== 200 || !response.body) throw new Error(`event stream answered ${response.status}`);
  const decoder = new TextDecoder();
  let first = true;
  let rest = '';
  for await (const chunk of response.body) {
    bytes += chunk.byteLength;
    rest += decoder.decode(chunk, { stream: true });
    // One SSE event ends with a blank line.
    let end = rest.indexOf('\n\n');
    while (end >= 0) {
      const event = rest.slice(0, end);
      rest = rest.slice(end + 2);
      if (event.startsWith('event: snapshot')) {
        snapshots++;
        if (first) {
          first = false;
          if (++ready === count) console.log(`ready ${count}`);
        }
      } else if (event.startsWith('event: end')) throw new Error('the hub ended the session');
      end = rest.indexOf('\n\n');
    }
  }
}

process.on('SIGTERM', () => {
  console.log(`snapshots ${snapshots} ${bytes}`);
  process.exit(0);
});
for (let i = 0; i < count; i++) {
  view().catch((error: Error) => {
    console.error(`viewer ${i}: ${error.message}`);
    process.exit(1);
  });
}
