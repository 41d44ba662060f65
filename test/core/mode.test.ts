import { describe, expect, test } from 'bun:test';
import { fileModeFor } from '../../src/core/mode.ts';

describe('fileModeFor', () => {
  const cases: Array<[string, boolean, number | undefined, number | undefined, number]> = [
    ['a new private file stays private', false, 0o600, undefined, 0o600],
    ['a new private script stays private', true, 0o600, undefined, 0o700],
    ['a new ordinary file keeps its source bits', false, 0o644, undefined, 0o644],
    ['a new script gets executable bits where read bits are', true, 0o644, undefined, 0o755],
    ['a source executable that is no longer executable', false, 0o755, undefined, 0o644],
    ['an update keeps the existing private bits', false, 0o644, 0o600, 0o600],
    ['an update that becomes executable', true, 0o644, 0o640, 0o750],
    ['an update that stops being executable', false, 0o755, 0o750, 0o640],
    ['an owner-write-only file still gets its owner executable bit', true, 0o200, undefined, 0o300],
    ['no bits known: the default, left to the umask', false, undefined, undefined, 0o666],
    ['no bits known, executable', true, undefined, undefined, 0o777],
    ['special bits of the source are never kept', false, 0o4755, undefined, 0o644],
  ];
  for (const [name, exec, source, existing, expected] of cases) {
    test(name, () => {
      expect(fileModeFor(exec, source, existing).toString(8)).toBe(expected.toString(8));
    });
  }
});
