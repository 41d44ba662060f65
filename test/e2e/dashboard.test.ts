/**
 * The dashboard in a real headless Chromium, against a hub with a credential and two real agents:
 * the one-time login link, a live update after an agent's edit without a reload, a conflict
 * settled by one click, no console error, a label on every control, and screenshots at a phone's
 * and a desktop's width (written to WARMSYNC_TEST_OUTPUT, default the system temp folder).
 */
import { afterEach, describe, expect, it } from 'bun:test';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Agent } from '../../src/agent/agent.ts';
import { type Browser, launchChromium } from '../helpers/chromium.ts';
import { cleanup, startAgent, startHub, tempDir, waitConverged, waitUntil } from '../helpers/harness.ts';

const TOKEN = 'dashboard-admin-credential';
const OUTPUT = join(process.env.WARMSYNC_TEST_OUTPUT ?? join(tmpdir(), 'warmsync-test-output'), 'dashboard');

let browser: Browser | undefined;
afterEach(async () => {
  await browser?.close();
  browser = undefined;
  await cleanup();
});

const copiesIn = (dir: string) => readdirSync(dir).filter((n) => n.includes('.conflict-'));

/** Two agents that edited `notes.txt` while apart: A's version keeps the path, B's goes to a copy. */
async function hubWithConflict() {
  const hub = startHub({ token: TOKEN });
  const a = await startAgent(hub, { token: TOKEN });
  const stateB = tempDir('warmsync-state-');
  let b: Agent = await startAgent(hub, { token: TOKEN, stateDir: stateB });
  const dirs = [a.tree.root, b.tree.root];
  writeFileSync(join(dirs[0]!, 'notes.txt'), 'base\n');
  await waitConverged(dirs);
  await b.stop();
  writeFileSync(join(dirs[1]!, 'notes.txt'), 'from B\n');
  const head = (await hub.store.changesSince('test', 0, 1)).head;
  writeFileSync(join(dirs[0]!, 'notes.txt'), 'from A\n');
  await waitUntil(async () => (await hub.store.changesSince('test', 0, 1)).head > head, 'A to push');
  b = await startAgent(hub, { token: TOKEN, dir: dirs[1], stateDir: stateB });
  await waitConverged(dirs, 'B to settle its conflict');
  expect(copiesIn(dirs[0]!)).toHaveLength(1);
  return { hub, dirs };
}

describe('the dashboard in Chromium', () => {
  it('logs in with the one-time link, updates live, resolves a conflict with one click', async () => {
    const { hub, dirs } = await hubWithConflict();
    browser = await launchChromium();
    const { page } = browser;
    await page.setViewport(1440, 900);

    await page.navigate(`${hub.url}/login?code=${await hub.sync.dashboard.issueLoginCode()}`);
    expect(await page.evaluate<string>('location.pathname')).toBe('/');
    await page.waitFor(`document.body.dataset.snapshotAt`, 'the first snapshot over the event stream');
    expect(
      await page.evaluate<string>(`document.getElementById('section-workspaces').textContent`),
    ).toContain('test');
    expect(await page.evaluate<string>(`document.getElementById('section-conflicts').textContent`)).toContain(
      'notes.txt',
    );

    // Every control has an accessible name: a label, aria-label or its own text.
    const unlabelled = await page.evaluate<
      string[]
    >(`[...document.querySelectorAll('button, input, select, textarea')]
      .filter((e) => e.type !== 'hidden')
      .filter((e) => !(e.getAttribute('aria-label') || (e.labels && e.labels.length > 0 && e.labels[0].textContent.trim()) || e.textContent.trim()))
      .map((e) => e.outerHTML)`);
    expect(unlabelled).toEqual([]);
    const resolveLabels = await page.evaluate<string[]>(
      `[...document.querySelectorAll('button[data-keep]')].map((b) => b.getAttribute('aria-label'))`,
    );
    expect(resolveLabels).toHaveLength(3);
    for (const label of resolveLabels)
      expect(label).toMatch(/^Keep (current|copy|both) for notes\.conflict-/);

    // A live update: an agent's edit shows up without the page reloading.
    await page.evaluate('window.sameDocument = true');
    writeFileSync(join(dirs[0]!, 'fresh-edit.txt'), 'new\n');
    await page.waitFor(
      `document.getElementById('section-audit').textContent.includes('fresh-edit.txt')`,
      'the audit section to show the new edit',
    );
    expect(await page.evaluate<boolean>('window.sameDocument === true')).toBe(true);

    mkdirSync(OUTPUT, { recursive: true });
    writeFileSync(join(OUTPUT, 'dashboard-1440x900.png'), await page.screenshot());
    await page.setViewport(390, 844);
    writeFileSync(join(OUTPUT, 'dashboard-390x844.png'), await page.screenshot());
    const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
    expect(overflow).toBeLessThanOrEqual(0);
    await page.setViewport(1440, 900);

    // One click settles the conflict on the hub and on both agents.
    await page.click('button[data-keep="copy"]');
    await waitUntil(() => dirs.every((d) => copiesIn(d).length === 0), 'both agents to drop the copy');
    await waitConverged(dirs);
    for (const dir of dirs) expect(readFileSync(join(dir, 'notes.txt'), 'utf8')).toBe('from B\n');
    expect(await hub.store.conflicts('test')).toEqual([]);
    await page.waitFor(
      `document.getElementById('section-conflicts').textContent.includes('No open conflict')`,
      'the page to show no open conflict',
    );
    expect(await page.evaluate<string>(`document.getElementById('notice').textContent`)).toContain(
      'notes.txt',
    );
    expect(hub.store.auditRows('test').filter((r) => r.op === 'resolve')).toHaveLength(1);
    expect(page.errors).toEqual([]);
  });

  it('spends the login link: a second use shows the login form, and a credential typed there works', async () => {
    const hub = startHub({ token: TOKEN });
    browser = await launchChromium();
    const { page } = browser;
    const link = `${hub.url}/login?code=${await hub.sync.dashboard.issueLoginCode()}`;
    await page.navigate(link);
    expect(await page.evaluate<string>('location.pathname')).toBe('/');
    await page.evaluate(`document.querySelector('form[action="/logout"] button').click()`);
    await page.waitFor(`location.pathname === '/login' && document.readyState === 'complete'`, 'the logout');
    await page.navigate(link);
    expect(await page.evaluate<string>(`document.querySelector('[role=alert]').textContent`)).toContain(
      'used already',
    );
    expect(await page.evaluate<string>(`document.querySelector('label[for=token]').textContent`)).toBe(
      'Credential',
    );
    await page.evaluate(
      `document.getElementById('token').value = ${JSON.stringify(TOKEN)}; document.querySelector('form.login').submit()`,
    );
    await page.waitFor(
      `location.pathname === '/' && document.body.dataset.snapshotAt`,
      'the page after login',
    );
    expect(await page.evaluate<string>(`document.querySelector('header').textContent`)).toContain(
      'Logged in as admin',
    );
    // The 401 of the spent link is the only error the browser logged.
    expect(page.errors.filter((e) => !e.includes('401'))).toEqual([]);
  });
});
