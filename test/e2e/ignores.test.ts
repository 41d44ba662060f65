/** Ignore rules as git means them, on both sides. */
import { afterEach, describe, expect, it } from 'bun:test';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanup, startAgent, startHub, tempDir, waitUntil } from '../helpers/harness.ts';

afterEach(cleanup);

describe('ignore rules', () => {
  it('honours nested .gitignore files with negations, and .warmsyncignore', async () => {
    const hub = startHub();
    const dirA = tempDir('warmsync-tree-');
    writeFileSync(join(dirA, '.gitignore'), '*.log\nbuild/\n');
    writeFileSync(join(dirA, '.warmsyncignore'), 'secret.txt\n');
    mkdirSync(join(dirA, 'pkg/build'), { recursive: true });
    writeFileSync(join(dirA, 'pkg/.gitignore'), '!keep.log\n');
    writeFileSync(join(dirA, 'debug.log'), 'x');
    writeFileSync(join(dirA, 'pkg/keep.log'), 'kept by a negation');
    writeFileSync(join(dirA, 'pkg/build/out.js'), 'x');
    writeFileSync(join(dirA, 'secret.txt'), 'x');
    writeFileSync(join(dirA, 'main.ts'), 'x');
    mkdirSync(join(dirA, 'node_modules/dep'), { recursive: true });
    writeFileSync(join(dirA, 'node_modules/dep/index.js'), 'x');
    await startAgent(hub, { dir: dirA });
    const b = await startAgent(hub);
    const dirB = b.tree.root;
    await waitUntil(
      () => existsSync(join(dirB, 'main.ts')) && existsSync(join(dirB, 'pkg/keep.log')),
      'the synced files',
    );
    for (const ignored of ['debug.log', 'pkg/build', 'secret.txt', 'node_modules']) {
      expect(existsSync(join(dirB, ignored))).toBe(false);
    }
  });

  it('syncs a file git tracks even when a pattern ignores its folder', async () => {
    const hub = startHub();
    const dirA = tempDir('warmsync-tree-');
    mkdirSync(join(dirA, 'generated'));
    writeFileSync(join(dirA, '.gitignore'), 'generated/\n');
    writeFileSync(join(dirA, 'generated/.gitkeep'), '');
    writeFileSync(join(dirA, 'generated/output.js'), 'not tracked');
    const git = (args: string[]) =>
      Bun.spawnSync(['git', ...args], {
        cwd: dirA,
        env: {
          ...process.env,
          GIT_AUTHOR_NAME: 't',
          GIT_AUTHOR_EMAIL: 't@t',
          GIT_COMMITTER_NAME: 't',
          GIT_COMMITTER_EMAIL: 't@t',
        },
      });
    git(['init', '-q']);
    git(['add', '.gitignore']);
    git(['add', '-f', 'generated/.gitkeep']);
    git(['commit', '-qm', 'init']);
    await startAgent(hub, { dir: dirA });
    const b = await startAgent(hub);
    await waitUntil(
      () => existsSync(join(b.tree.root, 'generated/.gitkeep')),
      'the tracked file on the peer',
    );
    expect(existsSync(join(b.tree.root, 'generated/output.js'))).toBe(false);
    expect(existsSync(join(b.tree.root, '.git'))).toBe(false);
  });

  it('applies a changed ignore file on both sides', async () => {
    const hub = startHub();
    const a = await startAgent(hub);
    const b = await startAgent(hub);
    writeFileSync(join(a.tree.root, 'notes.tmp'), 'before the rule');
    await waitUntil(() => existsSync(join(b.tree.root, 'notes.tmp')), 'the file before the rule');
    writeFileSync(join(a.tree.root, '.gitignore'), '*.tmp\n');
    await waitUntil(() => existsSync(join(b.tree.root, '.gitignore')), 'the ignore file on the peer');
    // Now both sides ignore *.tmp: new ones stay local, on either side.
    writeFileSync(join(a.tree.root, 'other.tmp'), 'local to A');
    writeFileSync(join(b.tree.root, 'mine.tmp'), 'local to B');
    writeFileSync(join(a.tree.root, 'marker.txt'), 'synced');
    await waitUntil(() => existsSync(join(b.tree.root, 'marker.txt')), 'a later file');
    await new Promise((r) => setTimeout(r, 700));
    expect(existsSync(join(b.tree.root, 'other.tmp'))).toBe(false);
    expect(existsSync(join(a.tree.root, 'mine.tmp'))).toBe(false);
  });

  it('keeps .git out by default: the hub refuses .git paths', async () => {
    const hub = startHub();
    const reply = await fetch(`${hub.url}/v1/workspaces/test/push`, {
      method: 'POST',
      body: envelope({
        agent: 'abc00abc',
        changes: [{ path: '.git/config', content: { kind: 'dir' }, vector: { abc00abc: 1 } }],
      }),
    });
    const body = (await reply.json()) as { results: Array<{ status: string; code?: string }> };
    expect(body.results[0]).toMatchObject({ status: 'rejected', code: 'invalid-path:git-dir' });
  });
});

function envelope(header: unknown): Uint8Array<ArrayBuffer> {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(4 + json.length);
  new DataView(out.buffer).setUint32(0, json.length);
  out.set(json, 4);
  return out;
}
