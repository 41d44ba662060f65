/**
 * Seeded mutations for the protocol fuzzer: byte-level damage to any message, and structural
 * damage to JSON values (hostile values, wrong types, hostile keys, huge and deep shapes). Pure:
 * the same `Random` gives the same mutations, so `TEST_SEED=<n>` replays a run.
 */
import type { Random } from '../random.ts';
import { DEEP_MARK, HOSTILE_KEYS, hostileValue } from './values.ts';

/** Damages `input` in 1-4 random ways (bit flips, truncation, insertion, splicing...). */
export function mutateBytes(rng: Random, input: Uint8Array): { bytes: Uint8Array; how: string } {
  let bytes = new Uint8Array(input);
  const hows: string[] = [];
  for (let n = rng.int(1, 4); n > 0; n--) {
    const at = bytes.length === 0 ? 0 : rng.int(0, bytes.length - 1);
    switch (rng.int(0, 7)) {
      case 0:
      case 1: {
        if (bytes.length === 0) break;
        bytes[at] = bytes[at]! ^ (1 << rng.int(0, 7));
        hows.push(`flip@${at}`);
        break;
      }
      case 2: {
        if (bytes.length === 0) break;
        bytes[at] = rng.pick([0x00, 0xff, 0x7f, 0x80, 0x22, 0x5c, 0x7b, 0x5b, rng.int(0, 255)]);
        hows.push(`set@${at}`);
        break;
      }
      case 3: {
        bytes = bytes.slice(0, at);
        hows.push(`truncate@${at}`);
        break;
      }
      case 4: {
        const extra = rng.bytes(rng.int(1, 64));
        bytes = concat(bytes.subarray(0, at), extra, bytes.subarray(at));
        hows.push(`insert${extra.length}@${at}`);
        break;
      }
      case 5: {
        const end = Math.min(bytes.length, at + rng.int(1, 64));
        bytes = concat(bytes.subarray(0, at), bytes.subarray(end));
        hows.push(`delete@${at}`);
        break;
      }
      case 6: {
        // A copy of one region over another: frames and keys that repeat.
        const length = rng.int(1, Math.max(1, Math.min(256, bytes.length)));
        const from = rng.int(0, Math.max(0, bytes.length - length));
        bytes = concat(bytes.subarray(0, at), bytes.slice(from, from + length), bytes.subarray(at));
        hows.push(`splice${length}@${at}`);
        break;
      }
      default: {
        if (bytes.length < 4) break;
        // A 32-bit word (a length field somewhere) set to an edge value.
        const word = Math.min(at, bytes.length - 4);
        const value = rng.pick([0, 1, 0x7fffffff, 0x80000000, 0xffffffff, rng.nextUint32()]);
        new DataView(bytes.buffer, bytes.byteOffset).setUint32(word, value >>> 0);
        hows.push(`word@${word}=${value >>> 0}`);
      }
    }
  }
  return { bytes, how: hows.join(',') || 'none' };
}

export function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Every location inside a JSON value, as key paths (the root is []). */
function locations(value: unknown, out: Array<Array<string | number>> = [], at: Array<string | number> = []) {
  out.push(at);
  if (out.length > 2000) return out;
  if (Array.isArray(value)) {
    // Long arrays: a sample of their items is enough.
    const step = Math.max(1, Math.floor(value.length / 8));
    for (let i = 0; i < value.length; i += step) locations(value[i], out, [...at, i]);
  } else if (typeof value === 'object' && value !== null) {
    for (const key of Object.keys(value))
      locations((value as Record<string, unknown>)[key], out, [...at, key]);
  }
  return out;
}

function getAt(value: unknown, path: ReadonlyArray<string | number>): unknown {
  let node = value;
  for (const key of path) node = (node as Record<string | number, unknown>)[key];
  return node;
}

/**
 * Returns a damaged deep copy of a JSON value: one to three locations replaced by hostile
 * values, removed, given extra (hostile) keys, repeated, or turned into another type.
 */
export function mutateJson(rng: Random, input: unknown): { value: unknown; how: string } {
  let value = structuredClone(input);
  const hows: string[] = [];
  for (let n = rng.int(1, 3); n > 0; n--) {
    const places = locations(value);
    const path = rng.pick(places);
    const where = path.join('.') || '(root)';
    const parentPath = path.slice(0, -1);
    const key = path[path.length - 1];
    const parent =
      path.length > 0 ? (getAt(value, parentPath) as Record<string | number, unknown>) : undefined;
    const current = getAt(value, path);
    const set = (replacement: unknown) => {
      if (parent === undefined || key === undefined) value = replacement;
      else parent[key] = replacement;
    };
    switch (rng.int(0, 6)) {
      case 0:
      case 1:
        set(hostileValue(rng));
        hows.push(`hostile@${where}`);
        break;
      case 2:
        if (parent && key !== undefined) {
          if (Array.isArray(parent)) parent.splice(Number(key), 1);
          else delete parent[key];
          hows.push(`drop@${where}`);
        }
        break;
      case 3:
        if (typeof current === 'object' && current !== null && !Array.isArray(current)) {
          const extra = rng.pick(HOSTILE_KEYS);
          (current as Record<string, unknown>)[extra] = rng.pick([1, 'x', null, {}, [1]]);
          hows.push(`key(${extra})@${where}`);
        } else {
          set({ [rng.pick(HOSTILE_KEYS)]: current });
          hows.push(`wrap@${where}`);
        }
        break;
      case 4:
        if (Array.isArray(current) && current.length > 0) {
          // Past the list bounds (1,000 problems, 10,000 hashes...), in 4 MB at most.
          const text = JSON.stringify(current) ?? '';
          // Nesting marked for stringifyJson grows a thousandfold when written out: repeated little.
          const copies = text.includes(DEEP_MARK) ? 2 : rng.pick([2, 3, 100, 1001]);
          const each = text.length / current.length;
          const length = Math.min(current.length * copies, 12_000, Math.ceil(4e6 / each));
          set(Array.from({ length }, (_, i) => current[i % current.length]));
          hows.push(`repeat${copies}@${where}`);
        } else {
          set([current]);
          hows.push(`array@${where}`);
        }
        break;
      case 5:
        set(
          typeof current === 'number'
            ? String(current)
            : typeof current === 'string'
              ? Number(current.length)
              : typeof current === 'boolean'
                ? Number(current)
                : JSON.stringify(current ?? null),
        );
        hows.push(`retype@${where}`);
        break;
      default:
        if (typeof current === 'number') {
          set(rng.pick([current + 1, current - 1, -current, current * 2 ** 32, current + 0.5]));
          hows.push(`nudge@${where}`);
        } else if (typeof current === 'string' && current.length > 0) {
          const at = rng.int(0, current.length - 1);
          set(
            current.slice(0, at) +
              rng.pick(['', 'A', '\u0000', '\ud800', '/', '..', 'é']) +
              current.slice(at + 1),
          );
          hows.push(`edit@${where}`);
        } else {
          set(hostileValue(rng));
          hows.push(`hostile@${where}`);
        }
    }
  }
  return { value, how: hows.join(',') };
}

/**
 * JSON text with damage JSON.stringify cannot make: an own `__proto__` key, a duplicate key,
 * numbers past the doubles, a lone surrogate escape, or nothing.
 */
export function textTwist(rng: Random, text: string): { text: string; how: string } {
  const firstObject = text.indexOf('{');
  const inject = (fragment: string) =>
    firstObject < 0 ? text : `${text.slice(0, firstObject + 1)}${fragment},${text.slice(firstObject + 1)}`;
  switch (rng.int(0, 7)) {
    case 0:
      return { text: inject('"__proto__":{"polluted":1}'), how: 'own __proto__' };
    case 1: {
      // The first key again, later: which one wins is the parser's choice.
      const match = /"([^"\\]{1,40})":/.exec(text);
      return match
        ? {
            text: inject(`"${match[1]}":${rng.pick(['null', '1', '"x"', '[]', '{}'])}`),
            how: `dup key ${match[1]}`,
          }
        : { text, how: 'none' };
    }
    case 2:
      return {
        text: text.replace(
          /(:)(\d+)/,
          `$1${rng.pick(['1e999', '-1e999', '1e-999', '9007199254740993', '-0'])}`,
        ),
        how: 'big number',
      };
    case 3:
      return { text: text.replace(/"([^"\\]{0,40})"/, '"\\ud800$1"'), how: 'lone surrogate' };
    case 4:
      return { text: `${text}${rng.pick(['', ' ', 'x', ',', ']', '}', '\u0000'])}`, how: 'trailing' };
    case 5:
      return { text: `\ufeff${text}`, how: 'bom' };
    default:
      return { text, how: 'none' };
  }
}
