import { describe, expect, it } from 'bun:test';
import {
  applyChunkEdit,
  type ChunkEditOp,
  compactContent,
  compactInGroups,
  compactWithin,
  diffChunkLists,
  EDIT_MIN_CHUNKS,
  expandContent,
  expandedLength,
  expansionOf,
  listsOf,
} from '../../src/core/chunk-edit.ts';
import type { ChunkSpec, EntryContent } from '../../src/core/entry.ts';
import { fileHashFromChunks, sha256Hex } from '../../src/core/hash.ts';

const chunk = (label: string, size = 65_536): ChunkSpec => [sha256Hex(new TextEncoder().encode(label)), size];
const listOf = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => chunk(`${prefix}${i}`));
const fileOf = (chunks: ChunkSpec[]): Extract<EntryContent, { kind: 'file' }> => ({
  kind: 'file',
  hash: fileHashFromChunks(chunks.map(([h]) => h)),
  size: chunks.reduce((n, [, s]) => n + s, 0),
  exec: false,
  chunks,
});

describe('chunk-list edits', () => {
  const before = listOf('c', 200);
  const cases: [string, ChunkSpec[]][] = [
    ['one chunk replaced', before.map((c, i) => (i === 100 ? chunk('new') : c))],
    ['two chunks inserted', [...before.slice(0, 50), chunk('x'), chunk('y'), ...before.slice(50)]],
    ['a run deleted', [...before.slice(0, 20), ...before.slice(60)]],
    ['two regions changed', before.map((c, i) => (i === 10 || i === 190 ? chunk(`n${i}`) : c))],
    ['halves swapped', [...before.slice(100), ...before.slice(0, 100)]],
    ['a chunk of another size under an old hash', before.map((c, i) => (i === 5 ? [c[0], 7] : c))],
    ['a repeated chunk', [...before.slice(0, 3), before[1]!, ...before.slice(3)]],
    ['everything new', listOf('z', 200)],
    ['empty', []],
  ];
  for (const [name, after] of cases) {
    it(`gives back the new list: ${name}`, () => {
      expect(applyChunkEdit(before, diffChunkLists(before, after))).toEqual(after);
    });
  }

  it('spells one changed chunk as three ops', () => {
    expect(diffChunkLists(before, cases[0]![1])).toEqual([[0, 100], chunk('new'), [101, 99]]);
  });

  it('refuses runs that reach past the old list, and empty runs', () => {
    const bad: ChunkEditOp[][] = [[[190, 11]], [[200, 1]], [[0, 0]]];
    for (const ops of bad) expect(applyChunkEdit(before, ops)).toBeUndefined();
  });

  it('sends short lists, unrelated lists and new files whole', () => {
    const short = fileOf(listOf('s', EDIT_MIN_CHUNKS - 1));
    const shortBase = fileOf(short.chunks.slice(1));
    expect(compactContent(short, shortBase)).toBe(short);
    const long = fileOf(cases[0]![1]);
    expect(compactContent(long, undefined)).toBe(long);
    expect(compactContent(long, { kind: 'deleted' })).toBe(long);
    expect(compactContent(long, fileOf(listOf('other', 200)))).toBe(long);
  });

  it('sends a long list as an edit of the held version, which expands to the same content', () => {
    const base = fileOf(before);
    const next = fileOf(cases[0]![1]);
    const wire = compactContent(next, base);
    expect(wire).toMatchObject({ kind: 'file', hash: next.hash, edit: { from: base.hash } });
    expect('chunks' in wire).toBe(false);
    expect(expandContent(wire, listsOf(base))).toEqual(next);
  });

  it('expands nothing against a version it does not name, or into a list of other content', () => {
    const base = fileOf(before);
    const next = fileOf(cases[0]![1]);
    const wire = compactContent(next, base);
    expect(expandContent(wire, listsOf(fileOf(listOf('q', 200))))).toBeUndefined();
    expect(expandContent(wire, listsOf(undefined))).toBeUndefined();
    if (wire.kind !== 'file' || !wire.edit) throw new Error('expected an edit');
    const lying = { ...wire, edit: { ...wire.edit, ops: [[0, 200]] as ChunkEditOp[] } };
    expect(expandContent(lying, listsOf(base))).toBeUndefined();
  });

  it('passes whole contents through', () => {
    const whole = fileOf(before);
    expect(expandContent(whole, listsOf())).toEqual(whole);
    expect(expandContent({ kind: 'dir' }, listsOf())).toEqual({ kind: 'dir' });
  });

  it('counts what edits expand to without building it', () => {
    const after = before.map((c, i) => (i === 100 ? chunk('new') : c));
    const edit = compactContent(fileOf(after), fileOf(before));
    if (edit.kind !== 'file' || !edit.edit) throw new Error('expected an edit');
    expect(expandedLength(edit.edit.ops)).toBe(200);
    expect(expandedLength([[0, 5], chunk('x'), [9, 0]])).toBe(6);
    expect(expansionOf([edit, edit, fileOf(before), { kind: 'deleted' }])).toBe(400);
  });

  it('compacts contents while their edits stay within the bound, and sends the rest whole', () => {
    const items = ['a', 'b', 'c'].map((name) => ({
      path: name,
      content: fileOf(before.map((c, i) => (i === 7 ? chunk(`${name} new`) : c))),
    }));
    const wire = compactWithin(items, () => fileOf(before), 450);
    expect(wire.map((w) => (w.content.kind === 'file' && w.content.edit ? 'edit' : 'whole'))).toEqual([
      'edit',
      'edit',
      'whole',
    ]);
    expect(wire[2]).toEqual(items[2]!);
    expect(expansionOf(wire.map((w) => w.content))).toBe(400);
    const held = listsOf(fileOf(before));
    for (const [i, w] of wire.entries()) expect(expandContent(w.content, held)).toEqual(items[i]!.content);
  });

  it('splits contents into groups whose edits each stay within the bound', () => {
    const items = ['a', 'b', 'c', 'd'].map((name) => ({
      path: name,
      content: fileOf(before.map((c, i) => (i === 7 ? chunk(`${name} new`) : c))),
    }));
    const small = { path: 'small', content: fileOf([chunk('tiny')]) };
    const groups = compactInGroups(
      [...items.slice(0, 2), small, ...items.slice(2)],
      () => fileOf(before),
      450,
    );
    expect(groups.map((g) => g.map((w) => w.path))).toEqual([
      ['a', 'b', 'small'],
      ['c', 'd'],
    ]);
    for (const group of groups) expect(expansionOf(group.map((w) => w.content))).toBeLessThanOrEqual(450);
    const held = listsOf(fileOf(before));
    for (const w of groups.flat())
      expect(expandContent(w.content, held)).toEqual(
        [...items, small].find((i) => i.path === w.path)!.content,
      );
    expect(compactInGroups([], () => undefined)).toEqual([[]]);
  });
});
