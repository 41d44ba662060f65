/**
 * `warmsync demo`: a hub and two agents in this process on two temporary folders, a few edits on
 * each side (one of them a real conflict), each change printed as it arrives with its latency.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, type AppliedEvent } from '../agent/agent.ts';
import { startEmbeddedServer } from '../server/start.ts';
import { parseFlags } from './args.ts';
import type { Command } from './command.ts';
import { renderStatus } from './status.ts';

const HELP = `Usage: warmsync demo [--keep]

Starts a hub and two agents on two temporary folders seeded with a small project, edits both
sides (including one conflict made while an agent is offline), prints every change as it
arrives with its latency and size, and exits 0 when both folders are identical.

Options:
  --keep   leave the temporary folders in place and print where they are`;

// The sample sources contain template literals on purpose: they are file contents, not code.
const SAMPLE: Record<string, string> = {
  'package.json': '{\n  "name": "sample",\n  "version": "1.0.0",\n  "type": "module"\n}\n',
  'README.md': '# sample\n\nA tiny project kept in sync by warmsync.\n',
  'src/index.ts': "import { greet } from './greet.ts';\n\nconsole.log(greet('world'));\n",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: file content, not a template
  'src/greet.ts': 'export function greet(name: string): string {\n  return `hello ${name}`;\n}\n',
  '.gitignore': 'dist/\n*.log\n',
};

export const demoCommand: Command = {
  summary: 'watch two folders stay identical (in-process hub and two agents)',
  async run(args) {
    const { values } = parseFlags(args, {
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    });
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    const root = mkdtempSync(join(tmpdir(), 'warmsync-demo-'));
    const laptop = join(root, 'laptop');
    const container = join(root, 'container');
    for (const dir of [laptop, container]) await mkdir(dir, { recursive: true });
    for (const [path, text] of Object.entries(SAMPLE)) {
      await mkdir(join(laptop, path, '..'), { recursive: true });
      await writeFile(join(laptop, path), text);
    }
    const server = startEmbeddedServer({ dataDir: join(root, 'hub'), port: 0 });
    console.log(`hub listening on ${server.url}`);
    const editedAt = new Map<string, number>();
    const names = new Map<string, string>();
    const arrivals: Array<() => void> = [];
    const onApplied = (side: string) => (event: AppliedEvent) => {
      const since = editedAt.get(event.path);
      const latency = since === undefined ? '' : ` after ${(performance.now() - since).toFixed(1)} ms`;
      const what =
        event.kind === 'deleted' ? 'deleted' : event.kind === 'file' ? `${event.bytes} bytes` : event.kind;
      console.log(
        `  -> ${side}: ${event.path} (${what}) from ${names.get(event.origin) ?? event.origin}${latency}`,
      );
      for (const wake of arrivals.splice(0)) wake();
    };
    const makeAgent = (dir: string, side: string) =>
      new Agent({
        dir,
        server: server.url,
        workspace: 'demo',
        stateDir: join(root, `state-${side}`),
        onApplied: onApplied(side),
      });
    const a = makeAgent(laptop, 'laptop');
    let b = makeAgent(container, 'container');
    names.set(a.agentId, 'laptop');
    names.set(b.agentId, 'container');
    const edit = async (dir: string, path: string, text: string | null) => {
      editedAt.set(path, performance.now());
      if (text === null) await rm(join(dir, path));
      else {
        await mkdir(join(dir, path, '..'), { recursive: true });
        await writeFile(join(dir, path), text);
      }
    };
    const settle = () =>
      waitFor(async () => (await treeText(laptop)) === (await treeText(container)), 10_000);
    try {
      console.log('\n1. initial sync of the sample project from the laptop');
      await a.start();
      await b.start();
      await settle();
      console.log('\n2. edits on both sides');
      await edit(laptop, 'src/greet.ts', SAMPLE['src/greet.ts']!.replace('hello', 'hi'));
      await settle();
      await edit(container, 'src/util/math.ts', 'export const add = (a: number, b: number) => a + b;\n');
      await settle();
      editedAt.set('src/main.ts', performance.now());
      await rename(join(laptop, 'src/index.ts'), join(laptop, 'src/main.ts'));
      await settle();
      await edit(container, 'README.md', null);
      await settle();
      console.log(
        '\n3. a conflict: the container edits greet.ts while its agent is offline, the laptop edits it too',
      );
      await b.stop();
      // biome-ignore lint/suspicious/noTemplateCurlyInString: file content, not a template
      await edit(container, 'src/greet.ts', 'export const greet = (name: string) => `hey ${name}`;\n');
      // biome-ignore lint/suspicious/noTemplateCurlyInString: file content, not a template
      await edit(laptop, 'src/greet.ts', 'export const greet = (name: string) => `good day ${name}`;\n');
      await waitFor(
        async () => (await server.store.changesSince('demo', 0, 1)).head > 0 && a.pendingCount() === 0,
        2000,
      );
      await new Promise((r) => setTimeout(r, 200));
      b = makeAgent(container, 'container');
      await b.start();
      await settle();
      const files = (await readdir(join(laptop, 'src'))).filter((n) => n.includes('.conflict-'));
      console.log(`   kept side by side: src/greet.ts and ${files.map((f) => `src/${f}`).join(', ')}`);
      console.log(`\n${renderStatus(await statusOf(server.url))}`);
      const same = (await treeText(laptop)) === (await treeText(container));
      console.log(same ? '\nboth folders are identical' : '\nthe folders differ');
      return same && files.length === 1 ? 0 : 1;
    } finally {
      await a.stop().catch(() => {});
      await b.stop().catch(() => {});
      await server.stop();
      if (values.keep) console.log(`folders kept in ${root}`);
      else rmSync(root, { recursive: true, force: true });
    }
  },
};

async function statusOf(url: string) {
  const { statusSchema } = await import('../core/protocol.ts');
  return statusSchema.parse(await (await fetch(`${url}/v1/status`)).json());
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error('the folders did not converge in time');
}

/** Every path and its content, as one string, for comparing two trees. */
async function treeText(root: string, prefix = ''): Promise<string> {
  const out: string[] = [];
  for (const entry of (await readdir(join(root, prefix), { withFileTypes: true })).sort((x, y) =>
    x.name.localeCompare(y.name),
  )) {
    const path = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(`${path}/`, await treeText(root, path));
    // Removed between the listing and the read (a sync in progress): the trees differ for now.
    else out.push(`${path}=${await readFile(join(root, path), 'utf8').catch(() => '(gone)')}`);
  }
  return out.join('\n');
}
