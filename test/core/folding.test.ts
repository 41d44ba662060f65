import { describe, expect, it } from 'bun:test';
import {
  describeFolding,
  EXACT_NAMES,
  type Folding,
  findSpelling,
  foldingFromProbe,
  foldName,
  pairRespellings,
} from '../../src/core/folding.ts';

const CASE: Folding = { ...EXACT_NAMES, caseInsensitive: true };
/** APFS: folds case and normalisation, keeps the form a name was created with. */
const APFS: Folding = { caseInsensitive: true, normalisationInsensitive: true, normalisesNames: false };
/** HFS+: as APFS, but lists names in NFD whatever form they were created in. */
const HFS: Folding = { ...APFS, normalisesNames: true };
const NFC = 'caf\u00e9';
const NFD = 'cafe\u0301';

describe('foldingFromProbe', () => {
  it.each([
    ['Linux (ext4, xfs, tmpfs)', false, false, true, EXACT_NAMES],
    ['NTFS, the test mount', true, false, true, CASE],
    ['APFS', true, true, true, APFS],
    ['HFS+', true, true, false, HFS],
  ] as const)('%s', (_name, otherCaseFound, otherFormFound, listedAsCreated, folding) => {
    expect(foldingFromProbe({ otherCaseFound, otherFormFound, listedAsCreated })).toEqual(folding);
  });
});

describe('describeFolding', () => {
  it.each([
    [EXACT_NAMES, undefined],
    [CASE, 'letter case'],
    [APFS, 'letter case or Unicode normalisation'],
  ] as const)('%o reads %p', (folding, words) => {
    expect(describeFolding(folding)).toBe(words);
  });
});

describe('foldName', () => {
  it.each([
    [EXACT_NAMES, 'README.md', 'README.md'],
    [CASE, 'README.md', 'readme.md'],
    [CASE, NFD, NFD],
    [APFS, `X${NFD}`, `x${NFC}`],
  ] as const)('under %o folds %p to %p', (folding, name, key) => {
    expect(foldName(name, folding)).toBe(key);
  });
});

describe('findSpelling', () => {
  it.each([
    ['the exact name where it is listed', CASE, 'README.md', ['readme.md', 'README.md'], 'README.md'],
    ['another case where only that is listed', CASE, 'README.md', ['readme.md'], 'readme.md'],
    ['nothing where no spelling is listed', CASE, 'README.md', ['other.md'], undefined],
    ['nothing for another case where names are exact', EXACT_NAMES, 'README.md', ['readme.md'], undefined],
    ['the NFD name for an NFC one on APFS', APFS, NFC, [NFD], NFD],
    ['nothing for another form where only case folds', CASE, NFC, [NFD], undefined],
    ['the NFD listing of an NFC name as that name on HFS+', HFS, NFC, [NFD], NFD],
  ] as const)('finds %s', (_name, folding, wanted, listing, found) => {
    expect(findSpelling(wanted, listing, folding)).toBe(found);
  });
});

describe('pairRespellings', () => {
  it.each([
    ['a case-only rename', CASE, ['README.md'], ['readme.md'], [['README.md', 'readme.md']]],
    [
      'a folder and its files',
      CASE,
      ['src', 'src/a.ts'],
      ['Src/a.ts', 'Src'],
      [
        ['src', 'Src'],
        ['src/a.ts', 'Src/a.ts'],
      ],
    ],
    ['a normalisation-only rename on APFS', APFS, [NFC], [NFD], [[NFC, NFD]]],
    ['nothing where names are exact', EXACT_NAMES, ['README.md'], ['readme.md'], []],
    ['nothing for a rename to another name', CASE, ['b.md'], ['a.md'], []],
    ['nothing for a path written and deleted under one spelling', CASE, ['a.md'], ['a.md'], []],
    ['nothing without a deletion', CASE, ['README.md'], [], []],
  ] as const)('pairs %s', (_name, folding, written, deleted, pairs) => {
    expect([...pairRespellings(written, deleted, folding)]).toEqual(pairs.map(([a, b]) => [a, b]));
  });
});
