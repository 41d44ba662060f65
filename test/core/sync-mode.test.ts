import { describe, expect, it } from 'bun:test';
import { ModeMap, policyOf, SYNC_MODES } from '../../src/core/sync-mode.ts';

describe('policyOf', () => {
  const table = [
    ['two-way', { push: true, apply: true, overwriteLocal: false }],
    ['send-only', { push: true, apply: false, overwriteLocal: false }],
    ['receive-only', { push: false, apply: true, overwriteLocal: false }],
    ['replica', { push: false, apply: true, overwriteLocal: true }],
  ] as const;
  for (const [mode, policy] of table)
    it(`${mode}: push ${policy.push}, apply ${policy.apply}, overwrite ${policy.overwriteLocal}`, () => {
      expect(policyOf(mode)).toEqual(policy);
    });

  it('has a row for every mode', () => {
    expect(table.map(([mode]) => mode).sort()).toEqual([...SYNC_MODES].sort());
  });
});

describe('ModeMap', () => {
  it('gives every path the agent mode when there are no rules', () => {
    const modes = new ModeMap('receive-only');
    expect(modes.uniform).toBe(true);
    expect(modes.modeOf('src/a.ts')).toBe('receive-only');
  });

  it('applies a folder rule to everything below the folder, at any depth', () => {
    const modes = new ModeMap('two-way', [{ path: 'node_modules/', mode: 'replica' }]);
    expect(modes.modeOf('node_modules', true)).toBe('replica');
    expect(modes.modeOf('node_modules/a/b/c/index.js')).toBe('replica');
    expect(modes.modeOf('src/node_modules.ts')).toBe('two-way');
  });

  it('does not apply a folder rule to a file of that name', () => {
    const modes = new ModeMap('two-way', [{ path: 'dist/', mode: 'send-only' }]);
    expect(modes.modeOf('dist')).toBe('two-way');
    expect(modes.modeOf('dist', true)).toBe('send-only');
  });

  it('lets the later rule win, whether it names the path or a folder above it', () => {
    const narrowLater = new ModeMap('two-way', [
      { path: 'node_modules/', mode: 'replica' },
      { path: 'node_modules/.cache/', mode: 'two-way' },
    ]);
    expect(narrowLater.modeOf('node_modules/.cache/x')).toBe('two-way');
    expect(narrowLater.modeOf('node_modules/x')).toBe('replica');
    const broadLater = new ModeMap('two-way', [
      { path: '*.js', mode: 'send-only' },
      { path: 'node_modules/', mode: 'replica' },
    ]);
    expect(broadLater.modeOf('node_modules/a.js')).toBe('replica');
    expect(broadLater.modeOf('src/a.js')).toBe('send-only');
  });

  it('follows only the rules of its role, and the rules without one', () => {
    const rules = [
      { path: 'node_modules/', mode: 'send-only', role: 'container' },
      { path: 'node_modules/', mode: 'replica', role: 'laptop' },
      { path: 'logs/', mode: 'receive-only' },
    ] as const;
    expect(new ModeMap('two-way', rules, 'container').modeOf('node_modules/x')).toBe('send-only');
    expect(new ModeMap('two-way', rules, 'laptop').modeOf('node_modules/x')).toBe('replica');
    expect(new ModeMap('two-way', rules).modeOf('node_modules/x')).toBe('two-way');
    expect(new ModeMap('two-way', rules).modeOf('logs/today')).toBe('receive-only');
    expect([...new ModeMap('two-way', rules, 'laptop').modesInUse()].sort()).toEqual([
      'receive-only',
      'replica',
      'two-way',
    ]);
  });

  it('answers for a path thousands of folders deep', () => {
    const deep = Array.from({ length: 2000 }, (_, i) => `d${i}`).join('/');
    const modes = new ModeMap('two-way', [{ path: 'd0/', mode: 'replica' }]);
    expect(modes.modeOf(`${deep}/f`)).toBe('replica');
  });
});
