#!/usr/bin/env bun
/**
 * Regression check: a first sync of a tree with more than 50,000 paths. The hub accepts at most
 * 50,000 changes in one push; an agent that sent its whole first reconcile as one push was refused
 * (400) and never finished. Exits with the agent's `--once` status: 0 once it syncs.
 *
 * Usage: bun scripts/bench/repro-push-limit.ts [FILES]   (default 60,000)
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { BUN, run, startServe } from './lib/procs.ts';
import { scratchDir } from './lib/trees.ts';

const files = Number(process.argv[2] ?? 60_000);
const scratch = scratchDir('repro-push-limit');
const tree = join(scratch, 'tree');
for (let i = 0; i < files; i++) {
  if (i % 100 === 0) mkdirSync(join(tree, `d${i / 100}`), { recursive: true });
  writeFileSync(join(tree, `d${Math.floor(i / 100)}`, `f${i % 100}.txt`), `${i}\n`);
}
const serve = await startServe(join(scratch, 'hub'));
try {
  const cli = resolve(import.meta.dir, '../../src/cli/main.ts');
  const once = await run(
    [
      BUN,
      cli,
      'agent',
      tree,
      '--server',
      serve.url,
      '--workspace',
      'repro',
      '--state',
      join(scratch, 'state'),
      '--once',
    ],
    { okCodes: [0, 1] },
  );
  const output = `${new TextDecoder().decode(once.stdout)}${once.stderr}`
    .trim()
    .split('\n')
    .slice(-3)
    .join('\n');
  console.log(`${files} files: agent --once exited ${once.code}\n${output}`);
  process.exitCode = once.code;
} finally {
  await serve.stop();
  rmSync(scratch, { recursive: true, force: true });
}
