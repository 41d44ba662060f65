import { describe, expect, it } from 'bun:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { keyLine, ProjectFileError, parseProjectFile } from '../../src/core/project-file.ts';

const fault = (text: string): { line: number | undefined; message: string } => {
  try {
    parseProjectFile(text);
  } catch (error) {
    if (error instanceof ProjectFileError) return { line: error.line, message: error.message };
    throw error;
  }
  throw new Error('expected the file to be refused');
};

describe('parseProjectFile', () => {
  it('reads every setting of a complete file', () => {
    const project = parseProjectFile(`server = "https://hub.example.com:7420"
workspace = "shop"
mode = "two-way"
ignore = ["dist/", "*.log"]
sync_git = false
sync_node_modules = true

[prewarm]
enabled = true
restore = false

[[paths]]
path = "node_modules/"
mode = "send-only"
role = "container"

[[paths]]
path = "node_modules/"
mode = "replica"
role = "laptop"
`);
    expect(project).toEqual({
      server: 'https://hub.example.com:7420',
      workspace: 'shop',
      mode: 'two-way',
      ignore: ['dist/', '*.log'],
      sync_git: false,
      sync_node_modules: true,
      prewarm: { enabled: true, restore: false },
      paths: [
        { path: 'node_modules/', mode: 'send-only', role: 'container' },
        { path: 'node_modules/', mode: 'replica', role: 'laptop' },
      ],
    });
  });

  it('takes an empty file as no settings', () => {
    expect(parseProjectFile('# nothing yet\n')).toEqual({});
  });

  it('names the line of a TOML syntax error', () => {
    const { line, message } = fault('workspace = "shop"\nmode = = "x"\n');
    expect(line).toBe(2);
    expect(message).toStartWith('warmsync.toml:2: not valid TOML');
  });

  it('names the line and the setting of a bad value', () => {
    const { line, message } = fault('workspace = "shop"\n\nmode = "sideways"\n');
    expect(line).toBe(3);
    expect(message).toContain('mode:');
  });

  it('finds the line inside the right [[paths]] table', () => {
    const { line, message } = fault(`[[paths]]
path = "a/"
mode = "replica"

[[paths]]
path = "b/"
mode = "mirror"
`);
    expect(line).toBe(7);
    expect(message).toContain('paths.1.mode');
  });

  it('refuses an unknown setting by name', () => {
    const { line, message } = fault('workspace = "shop"\nwrokspace = "typo"\n');
    expect(line).toBe(2);
    expect(message).toContain('wrokspace: unknown setting');
  });

  it('refuses a bad workspace name with the rule', () => {
    expect(fault('workspace = "no spaces"').message).toContain('workspace names are');
  });

  for (const [key, text, hint] of [
    ['token', 'token = "secret"', '--token'],
    ['allow_scripts', 'allow_scripts = true', '--allow-scripts'],
    ['npmrc', 'npmrc = "/tmp/x"', '--npmrc'],
    ['prewarm.allow_scripts', '[prewarm]\nallow_scripts = true', '--allow-scripts'],
  ] as const)
    it(`refuses ${key}, which a peer could use against this machine`, () => {
      const { message } = fault(text);
      expect(message).toContain(key);
      expect(message).toContain(hint);
    });
});

describe('keyLine', () => {
  const text = 'a = 1\n[t]\nb = 2\n"quoted" = 3\n[[arr]]\nc = 1\n[[arr]]\nc = 2\n';
  const table = [
    [['a'], 1],
    [['t'], 2],
    [['t', 'b'], 3],
    [['t', 'quoted'], 4],
    [['t', 'missing'], 2],
    [['arr', 1, 'c'], 8],
    [['arr', 0], 5],
    [['nowhere'], undefined],
  ] as const;
  for (const [path, line] of table)
    it(`finds ${path.join('.')} at line ${line}`, () => {
      expect(keyLine(text, path)).toBe(line);
    });
});

describe("the README's project files", () => {
  it('parse as they are shown', () => {
    const readme = readFileSync(join(import.meta.dir, '..', '..', 'README.md'), 'utf8');
    const blocks = [...readme.matchAll(/```toml\n([\s\S]*?)```/g)].map((m) => m[1]!);
    expect(blocks.length).toBeGreaterThanOrEqual(2);
    for (const block of blocks) expect(() => parseProjectFile(block)).not.toThrow();
    // The error the README quotes is the one its example gives with a bad mode on that line.
    const broken = blocks[0]!.replace('mode = "send-only"', 'mode = "sideways"');
    const quoted = /`(warmsync\.toml:\d+: paths\.0\.mode: [^`]+)`/.exec(readme)?.[1];
    expect(quoted).toBeDefined();
    expect(() => parseProjectFile(broken)).toThrow(quoted!);
  });
});
