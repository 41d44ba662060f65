/**
 * Paths for the protocol fuzzer: ones that break a path rule each, and valid ones that stress
 * what comes after the rules (byte bounds, depth, Unicode that folds onto another name).
 */
import type { Random } from '../random.ts';

/** Paths that break one path rule each, or valid ones near the bounds (half and half). */
export function hostilePath(rng: Random): string {
  return rng.chance(0.5) ? invalidPath(rng) : edgyPath(rng);
}

const long = (bytes: number, unit = 'a') => unit.repeat(Math.max(1, Math.floor(bytes / unit.length)));
/** Segments of 255 bytes, cut to `bytes`. */
const longSegments = (bytes: number, segment = 255) =>
  Array.from({ length: 17 }, () => long(segment))
    .join('/')
    .slice(0, bytes);

/** Paths that break one path rule each. */
export function invalidPath(rng: Random): string {
  return rng.pick([
    () => '../escape',
    () => 'a/../../b',
    () => '/etc/passwd',
    () => 'a\\b',
    () => 'C:evil',
    () => 'a\u0000b',
    () => 'a//b',
    () => 'a/',
    () => '.',
    () => '',
    () => '.git/config',
    () => 'x/.GIT/hooks/pre-commit',
    () => '.warmsync-tmp-x',
    () => 'a\u0007b',
    () => 'tab\there',
    () => long(256),
    () => long(86, 'é'),
    () => longSegments(4097),
    () => 'lone\ud800surrogate',
    () => 'lone\udfffsurrogate',
  ])();
}

/**
 * Valid paths that stress what comes after the rules: names and paths at their byte bounds (their
 * conflict copies are longer), 2,047 nested folders, Unicode that case-folds or normalises onto
 * another name, names that look like conflict copies.
 */
export function edgyPath(rng: Random): string {
  return rng.pick([
    () => long(255),
    () => long(84, 'é'),
    () =>
      Array.from({ length: 2048 }, () => 'd')
        .join('/')
        .slice(0, 4095),
    () => longSegments(4095),
    () => `${longSegments(4015, 250)}/${long(80)}`,
    () => `${longSegments(4000, 250)}/x`,
    () => 'pair\ud83d\ude00ok',
    () => 'repl\ufffdacement',
    () => 'Caf\u00e9',
    () => 'Cafe\u0301',
    () => 'CAF\u00c9',
    () => 'rtl\u202eevil',
    () => 'zero\u200bwidth',
    () => 'nbsp\u00a0x',
    () => '-rf',
    () => '~',
    () => '...',
    () => 'con',
    () => 'f.conflict-abcdef12-00000000.txt',
    () => 'x'.repeat(rng.int(1, 255)),
  ])();
}
