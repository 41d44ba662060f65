import { afterEach, describe, expect, it } from 'bun:test';
import { readdirSync } from 'node:fs';
import { probeFolding } from '../../src/agent/fs-probe.ts';
import { EXACT_NAMES } from '../../src/core/folding.ts';
import { caseInsensitiveUnavailable, mountCaseInsensitive } from '../helpers/casefold-fs.ts';
import { cleanup, tempDir } from '../helpers/harness.ts';

afterEach(cleanup);

describe('probeFolding', () => {
  it('finds that a Linux folder compares names exactly', () => {
    expect(probeFolding(tempDir())).toEqual(EXACT_NAMES);
  });

  it('leaves nothing behind', () => {
    const dir = tempDir();
    probeFolding(dir);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('takes a folder it cannot write to as exact', () => {
    expect(probeFolding('/proc')).toEqual(EXACT_NAMES);
  });

  it.skipIf(caseInsensitiveUnavailable() !== undefined)(
    'finds that a case-folding folder folds case',
    async () => {
      const mount = await mountCaseInsensitive();
      expect(probeFolding(mount!.dir)).toEqual({ ...EXACT_NAMES, caseInsensitive: true });
      expect(readdirSync(mount!.dir)).toEqual([]);
    },
  );
});
