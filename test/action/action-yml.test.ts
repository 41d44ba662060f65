import { describe, expect, it } from 'bun:test';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

const root = join(import.meta.dir, '../..');

interface ActionYml {
  runs: { using: string; main: string };
  inputs: Record<string, { description: string; default?: string }>;
  outputs: Record<string, { description: string }>;
}

async function load(): Promise<{ yml: ActionYml; sources: string }> {
  const yml = Bun.YAML.parse(await readFile(join(root, 'action.yml'), 'utf8')) as ActionYml;
  const sources = (
    await Promise.all(['inputs.ts', 'main.ts'].map((f) => readFile(join(root, 'action', f), 'utf8')))
  ).join('\n');
  return { yml, sources };
}

describe('action.yml', () => {
  it('runs the committed bundle on node24', async () => {
    const { yml } = await load();
    expect(yml.runs).toEqual({ using: 'node24', main: 'action/dist/index.js' });
  });

  it('documents exactly the inputs the code reads', async () => {
    const { yml, sources } = await load();
    const read = [...sources.matchAll(/read\('([a-z-]+)'\)/g)].map((m) => m[1]);
    expect(Object.keys(yml.inputs).sort()).toEqual([...new Set(read)].sort() as string[]);
    for (const [name, input] of Object.entries(yml.inputs))
      expect({ name, ok: input.description.length > 20 }).toEqual({ name, ok: true });
  });

  it('documents exactly the outputs the code sets', async () => {
    const { yml, sources } = await load();
    const set = [...sources.matchAll(/setOutput\('([a-z-]+)'/g)].map((m) => m[1]);
    expect(Object.keys(yml.outputs).sort()).toEqual([...new Set(set)].sort() as string[]);
  });

  it('defaults github-token to the workflow token', async () => {
    const { yml } = await load();
    // A GitHub expression, not a JavaScript template: the runner substitutes it.
    expect(yml.inputs['github-token']?.default).toBe(`$${'{{'} github.token }}`);
  });
});
