/**
 * A real headless Chromium driven over the Chrome DevTools Protocol, on Bun's own WebSocket
 * client: one browser per test, one page, the console errors it logged collected. No npm
 * dependency: the protocol is a few JSON messages, and the binary is Debian's `chromium`
 * (scripts/test-setup.sh installs it).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

type Params = Record<string, unknown>;
interface CdpMessage {
  id?: number;
  method?: string;
  params?: Params;
  result?: Params;
  error?: { message: string };
  sessionId?: string;
}

export interface Browser {
  page: Page;
  close(): Promise<void>;
}

export interface Page {
  /** Console errors, uncaught exceptions and failed loads the page logged, as text. */
  errors: string[];
  navigate(url: string): Promise<void>;
  evaluate<T>(expression: string): Promise<T>;
  waitFor(expression: string, what: string, timeoutMs?: number): Promise<void>;
  /** Clicks the centre of the first element matching `selector` with real mouse events. */
  click(selector: string): Promise<void>;
  setViewport(width: number, height: number): Promise<void>;
  /** A PNG of the whole page at the current viewport width. */
  screenshot(): Promise<Uint8Array>;
}

export const CHROMIUM = Bun.which('chromium') ?? Bun.which('chromium-browser') ?? 'chromium';

/** Starts Chromium headless with a fresh profile and opens one blank page. */
export async function launchChromium(): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'warmsync-chromium-'));
  const child = Bun.spawn(
    [
      CHROMIUM,
      '--headless=new',
      '--remote-debugging-port=0',
      `--user-data-dir=${profile}`,
      '--no-sandbox',
      '--no-first-run',
      '--no-default-browser-check',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-extensions',
      '--disable-background-networking',
      '--disable-component-update',
      '--hide-scrollbars',
      'about:blank',
    ],
    { stdout: 'ignore', stderr: 'pipe' },
  );
  const wsUrl = await devtoolsUrl(child.stderr as ReadableStream<Uint8Array>);
  const socket = new WebSocket(wsUrl);
  await new Promise<void>((resolve, reject) => {
    socket.onopen = () => resolve();
    socket.onerror = () => reject(new Error(`cannot connect to ${wsUrl}`));
  });
  let nextId = 1;
  const waiting = new Map<number, { resolve: (r: Params) => void; reject: (e: Error) => void }>();
  const listeners = new Set<(message: CdpMessage) => void>();
  socket.onmessage = (event) => {
    const message = JSON.parse(String(event.data)) as CdpMessage;
    if (message.id !== undefined) {
      const pending = waiting.get(message.id);
      waiting.delete(message.id);
      if (message.error) pending?.reject(new Error(message.error.message));
      else pending?.resolve(message.result ?? {});
      return;
    }
    for (const listen of listeners) listen(message);
  };
  const send = (method: string, params: Params = {}, sessionId?: string): Promise<Params> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      waiting.set(id, { resolve, reject });
      socket.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
    });
  const nextEvent = (method: string, sessionId: string, timeoutMs = 15_000) =>
    new Promise<Params>((resolve, reject) => {
      const timer = setTimeout(() => {
        listeners.delete(listen);
        reject(new Error(`timed out waiting for ${method}`));
      }, timeoutMs);
      const listen = (m: CdpMessage) => {
        if (m.method !== method || m.sessionId !== sessionId) return;
        clearTimeout(timer);
        listeners.delete(listen);
        resolve(m.params ?? {});
      };
      listeners.add(listen);
    });

  const { targetId } = (await send('Target.createTarget', { url: 'about:blank' })) as { targetId: string };
  const { sessionId } = (await send('Target.attachToTarget', { targetId, flatten: true })) as {
    sessionId: string;
  };
  const on = (method: string, params: Params = {}) => send(method, params, sessionId);
  const errors: string[] = [];
  listeners.add((m) => {
    if (m.sessionId !== sessionId) return;
    const p = (m.params ?? {}) as {
      type?: string;
      args?: Array<{ value?: unknown; description?: string }>;
      exceptionDetails?: { text?: string; exception?: { description?: string } };
      entry?: { level?: string; text?: string; url?: string };
    };
    if (m.method === 'Runtime.consoleAPICalled' && (p.type === 'error' || p.type === 'assert'))
      errors.push(
        `console.${p.type}: ${JSON.stringify((p.args ?? []).map((a) => a.value ?? a.description))}`,
      );
    if (m.method === 'Runtime.exceptionThrown')
      errors.push(`exception: ${p.exceptionDetails?.exception?.description ?? p.exceptionDetails?.text}`);
    if (m.method === 'Log.entryAdded' && p.entry?.level === 'error')
      errors.push(`log: ${p.entry.text} ${p.entry.url ?? ''}`);
  });
  await on('Runtime.enable');
  await on('Log.enable');
  await on('Page.enable');

  const evaluate = async <T>(expression: string): Promise<T> => {
    const reply = (await on('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true })) as {
      result: { value?: T };
      exceptionDetails?: { text: string; exception?: { description?: string } };
    };
    if (reply.exceptionDetails)
      throw new Error(
        `${expression}: ${reply.exceptionDetails.exception?.description ?? reply.exceptionDetails.text}`,
      );
    return reply.result.value as T;
  };
  const page: Page = {
    errors,
    async navigate(url) {
      const loaded = nextEvent('Page.loadEventFired', sessionId);
      await on('Page.navigate', { url });
      await loaded;
    },
    evaluate,
    async waitFor(expression, what, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if (await evaluate<boolean>(`Boolean(${expression})`).catch(() => false)) return;
        await Bun.sleep(100);
      }
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    },
    async click(selector) {
      const box = await evaluate<{ x: number; y: number } | null>(
        `(() => { const e = document.querySelector(${JSON.stringify(selector)}); if (!e) return null; e.scrollIntoView({ block: 'center' }); const r = e.getBoundingClientRect(); return { x: r.x + r.width / 2, y: r.y + r.height / 2 }; })()`,
      );
      if (!box) throw new Error(`no element matches ${selector}`);
      for (const type of ['mouseMoved', 'mousePressed', 'mouseReleased'])
        await on('Input.dispatchMouseEvent', { type, x: box.x, y: box.y, button: 'left', clickCount: 1 });
    },
    async setViewport(width, height) {
      await on('Emulation.setDeviceMetricsOverride', {
        width,
        height,
        deviceScaleFactor: 1,
        mobile: width < 600,
      });
    },
    async screenshot() {
      const { data } = (await on('Page.captureScreenshot', {
        format: 'png',
        captureBeyondViewport: true,
      })) as {
        data: string;
      };
      return Buffer.from(data, 'base64');
    },
  };
  return {
    page,
    async close() {
      await send('Browser.close').catch(() => {});
      socket.close();
      const exited = await Promise.race([child.exited, Bun.sleep(5000).then(() => undefined)]);
      if (exited === undefined) child.kill('SIGKILL');
      await child.exited;
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Reads Chromium's stderr up to its `DevTools listening on ws://...` line. */
async function devtoolsUrl(stderr: ReadableStream<Uint8Array>): Promise<string> {
  const decoder = new TextDecoder();
  let text = '';
  const reader = stderr.getReader();
  const deadline = setTimeout(() => reader.cancel(), 30_000);
  try {
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value);
      const match = /DevTools listening on (ws:\/\/\S+)/.exec(text);
      if (match?.[1]) {
        // Keep draining stderr so Chromium never blocks on a full pipe.
        void (async () => {
          while (!(await reader.read().catch(() => ({ done: true }))).done) {}
        })();
        return match[1];
      }
    }
  } finally {
    clearTimeout(deadline);
  }
  throw new Error(`chromium printed no DevTools URL:\n${text.slice(-2000)}`);
}
