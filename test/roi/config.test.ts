import { describe, expect, it } from 'bun:test';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseRoiConfig, readRoiConfig } from '../../src/roi/config.ts';
import { RoiError } from '../../src/roi/errors.ts';
import { articleConfig } from './fixtures.ts';

const valid = JSON.stringify(articleConfig);

function messageOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(RoiError);
    return (error as RoiError).message;
  }
  throw new Error('expected a RoiError');
}

describe('parseRoiConfig', () => {
  it('accepts the documented example with the article’s figures', async () => {
    const config = await readRoiConfig(join(import.meta.dir, '../../src/roi/examples/roi-config.json'));
    const { $comment, ...figures } = config;
    expect($comment).toContain('article');
    expect(figures).toEqual(articleConfig);
  });

  it('names the file and says the JSON is broken', () => {
    expect(messageOf(() => parseRoiConfig('{"engineers": 47,', 'roi.json'))).toStartWith(
      'roi.json: not valid JSON (',
    );
  });

  it('names the wrong field', () => {
    const text = JSON.stringify({ ...articleConfig, engineers: 4.5 });
    expect(messageOf(() => parseRoiConfig(text, 'roi.json'))).toStartWith('roi.json: engineers: ');
  });

  it('names a missing field', () => {
    const { blendedHourlyRate: _, ...rest } = articleConfig;
    expect(messageOf(() => parseRoiConfig(JSON.stringify(rest), 'roi.json'))).toStartWith(
      'roi.json: blendedHourlyRate: ',
    );
  });

  it('rejects unknown fields, so a typo is not silently ignored', () => {
    const text = JSON.stringify({ ...articleConfig, enginers: 47 });
    expect(messageOf(() => parseRoiConfig(text, 'roi.json'))).toContain('enginers');
  });

  it('requires minutesPerConflict when the after-figure is to be derived', () => {
    const { minutesLostPerEngineerPerDayAfter: _, minutesPerConflict: __, ...rest } = articleConfig;
    expect(messageOf(() => parseRoiConfig(JSON.stringify(rest), 'roi.json'))).toStartWith(
      'roi.json: minutesPerConflict: required when minutesLostPerEngineerPerDayAfter is absent',
    );
  });

  it('keeps the message on one line', () => {
    expect(messageOf(() => parseRoiConfig('[1,2]', 'roi.json'))).not.toContain('\n');
    expect(parseRoiConfig(valid, 'roi.json')).toEqual(articleConfig);
  });
});

describe('readRoiConfig', () => {
  it('says the file is missing, naming it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'warmsync-roi-'));
    try {
      await expect(readRoiConfig(join(dir, 'nope.json'))).rejects.toThrow(
        `config ${join(dir, 'nope.json')}: file not found`,
      );
      await writeFile(join(dir, 'ok.json'), valid);
      expect(await readRoiConfig(join(dir, 'ok.json'))).toEqual(articleConfig);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
