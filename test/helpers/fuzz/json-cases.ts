/**
 * JSON requests and live messages for the protocol fuzzer: a valid one of each kind, then damaged
 * (structurally, in its text, or in its bytes), plus noise; and the URLs and query strings of the
 * hub's routes, valid and hostile.
 */
import { sha256Hex } from '../../../src/core/hash.ts';
import type { Random } from '../random.ts';
import { mutateBytes, mutateJson, textTwist } from './mutate.ts';
import { hostilePath } from './paths.ts';
import type { FuzzChunk } from './push-cases.ts';
import { stringifyJson } from './values.ts';

/** A JSON body: text, or bytes when damaged below the text. */
export interface JsonCase {
  body: string | Uint8Array<ArrayBuffer>;
  how: string;
}

/** Damages a valid JSON value: as it is, structurally, as text, as bytes, or replaced by noise. */
export function damageJson(rng: Random, valid: unknown, oversized?: () => unknown): JsonCase {
  const mode = rng.int(0, 99);
  if (mode < 30) return { body: JSON.stringify(valid), how: 'valid' };
  if (mode < 65) {
    const damaged = mutateJson(rng, valid);
    const twisted = textTwist(rng, stringifyJson(damaged.value));
    return { body: twisted.text, how: `${damaged.how}; text ${twisted.how}` };
  }
  if (mode < 85) {
    const { bytes, how } = mutateBytes(rng, new TextEncoder().encode(JSON.stringify(valid)));
    return { body: new Uint8Array(bytes), how: `bytes ${how}` };
  }
  if (mode < 87 && oversized) return { body: JSON.stringify(oversized()), how: 'over its bound' };
  const noise = rng.pick<() => string>([
    () => '',
    () => 'null',
    () => '[]',
    () => '"x"',
    () => '{',
    () => 'NaN',
    () => String.fromCharCode(...rng.bytes(rng.int(1, 200))),
  ])();
  return { body: noise, how: 'noise' };
}

export function randomHash(rng: Random): string {
  return sha256Hex(rng.bytes(8));
}

export function someHashes(rng: Random, known: readonly FuzzChunk[], max: number): string[] {
  return Array.from({ length: rng.int(0, max) }, () =>
    rng.chance(0.6) ? rng.pick(known).hash : randomHash(rng),
  );
}

export function missingBody(rng: Random, known: readonly FuzzChunk[]): JsonCase {
  return damageJson(rng, { hashes: someHashes(rng, known, 60) }, () => ({
    hashes: Array.from({ length: 10_001 }, () => rng.pick(known).hash),
  }));
}

export function fetchBody(rng: Random, known: readonly FuzzChunk[]): JsonCase {
  const want = Array.from({ length: rng.int(1, 12) }, () => ({
    hash: rng.chance(0.8) ? rng.pick(known).hash : randomHash(rng),
    ...(rng.chance(0.4) ? { base: rng.chance(0.8) ? rng.pick(known).hash : randomHash(rng) } : {}),
  }));
  return damageJson(rng, { want }, () => ({
    want: Array.from({ length: 10_001 }, () => ({ hash: rng.pick(known).hash })),
  }));
}

/** A snapshot manifest naming chunks the hub holds, for `lockHash`. */
export function snapshotManifest(rng: Random, known: readonly FuzzChunk[], lockHash: string): unknown {
  const packages: unknown[] = [];
  for (let i = rng.int(0, 6); i > 0; i--) {
    const chunks = Array.from({ length: rng.int(0, 3) }, () => rng.pick(known)).filter(
      (c) => c.bytes.length > 0,
    );
    packages.push({
      path: `node_modules/pkg${i}`,
      integrity: `sha512-${'A'.repeat(86)}==`,
      size: chunks.reduce((s, c) => s + c.bytes.length, 0),
      chunks: chunks.map((c) => [c.hash, c.bytes.length]),
    });
  }
  return { format: 2, lockHash, platform: 'linux-x64-glibc', packages };
}

export function snapshotBody(rng: Random, known: readonly FuzzChunk[], lockHash: string): JsonCase {
  return damageJson(rng, snapshotManifest(rng, known, lockHash), () => ({
    ...(snapshotManifest(rng, known, lockHash) as object),
    packages: Array.from({ length: 20_000 }, (_, i) => ({
      path: `node_modules/p${i}`,
      integrity: `sha512-${'A'.repeat(86)}==`,
      size: 0,
      chunks: [],
    })),
  }));
}

/** An agent's live message: valid, then maybe damaged; sent as text or as a binary message. */
export function liveMessage(
  rng: Random,
  known: readonly FuzzChunk[],
): { data: string | Uint8Array<ArrayBuffer>; how: string } {
  const valid = rng.pick<() => unknown>([
    () => ({
      type: 'cursor',
      cursor: rng.pick([0, 1, rng.int(0, 1e6), Number.MAX_SAFE_INTEGER]),
      pending: rng.int(0, 50),
    }),
    () => ({
      type: 'problems',
      // At the bound of 1,000 problems, or a few with hostile paths (4,200 characters at most).
      problems: rng.chance(0.03)
        ? Array.from({ length: rng.pick([1000, 1001]) }, (_, i) => ({
            path: `p${i}`,
            code: 'c',
            message: 'm',
          }))
        : Array.from({ length: rng.int(0, 12) }, () => ({
            path: rng.chance(0.1) ? 'p'.repeat(rng.pick([4200, 4201])) : hostilePath(rng),
            code: rng.pick(['unreadable', 'case-collision', 'c'.repeat(64), 'c'.repeat(65)]),
            message: rng.pick(['could not read', 'm'.repeat(500), 'm'.repeat(501)]),
          })),
    }),
    () => ({ type: 'wanted', hashes: someHashes(rng, known, rng.chance(0.05) ? 1000 : 30) }),
  ])();
  const damaged = damageJson(rng, valid, () => ({ type: 'wanted', hashes: someHashes(rng, known, 1001) }));
  if (typeof damaged.body === 'string' && rng.chance(0.5)) return { data: damaged.body, how: damaged.how };
  const bytes = typeof damaged.body === 'string' ? new TextEncoder().encode(damaged.body) : damaged.body;
  return { data: new Uint8Array(bytes), how: `binary ${damaged.how}` };
}

/** A workspace as a URL segment: valid names, invalid ones, and encodings of both. */
export function workspaceSegment(rng: Random, main: string): string {
  if (rng.chance(0.8)) return main;
  return rng.pick<() => string>([
    () => `${main}-${rng.int(0, 3)}`,
    () => 'A'.repeat(64),
    () => 'A'.repeat(65),
    () => '',
    () => '.',
    () => '-lead',
    () => '_x',
    () => 'a%20b',
    () => '%2e%2e',
    () => '..%2f..',
    () => 'a%00b',
    () => '%E0%A4%A',
    () => '%',
    () => '%ff%fe',
    () => 'caf%C3%A9',
    () => encodeSegment(hostilePath(rng)).slice(0, 300),
    () => `${main}%2Fx`,
  ])();
}

/** Percent-encodes text; a lone surrogate becomes the bytes UTF-8 would give it, which are no UTF-8. */
function encodeSegment(text: string): string {
  return text
    .split(/([\ud800-\udfff])/)
    .map((part) => (/^[\ud800-\udfff]$/.test(part) ? '%ED%A0%80' : encodeURIComponent(part)))
    .join('');
}

/** Hono's reading of a URL segment, to keep write requests away from the witness workspace. */
export function decodedSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** A query string for `/changes`: `since` valid, edge, malformed, repeated or absent. */
export function changesQuery(rng: Random, head: number): string {
  const since = rng.pick<() => string>([
    () => '0',
    () => String(rng.int(0, head + 2)),
    () => String(head),
    () => '-1',
    () => '-0',
    () => '1.5',
    () => '1e3',
    () => '0x10',
    () => ' 3 ',
    () => '',
    () => 'abc',
    () => 'Infinity',
    () => 'NaN',
    () => '9007199254740991',
    () => '9007199254740992',
    () => '1'.repeat(400),
    () => '%00',
    () => '%ZZ',
    () => '%E2%82%AC',
    () => '3%00',
    () => encodeURIComponent('\ud83d\ude00'),
  ])();
  return rng.pick([
    `since=${since}`,
    `since=${since}`,
    `since=${since}&since=${rng.int(0, 9)}`,
    `since[]=${since}`,
    `SINCE=${since}`,
    '',
    `since=${since}&agent=${'a'.repeat(rng.int(0, 40))}&x=${'%'.repeat(rng.int(0, 3))}`,
  ]);
}
