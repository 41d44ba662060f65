/**
 * A byte delta of a new version against an old one that both sides hold.
 *
 * Most edits to source files touch one region, so "same prefix, same suffix, new middle" captures
 * a one-line edit in a few bytes; the middle is then compressed. This is what lets a one-line edit
 * cost bytes on the wire proportional to the line, not to the file.
 *
 * Wire form: varint(prefixLength) varint(suffixLength) middle-bytes.
 */

/** Encodes `next` as a delta against `base`. */
export function encodeDelta(base: Uint8Array, next: Uint8Array): Uint8Array {
  const limit = Math.min(base.length, next.length);
  let prefix = 0;
  while (prefix < limit && base[prefix] === next[prefix]) prefix++;
  let suffix = 0;
  const suffixLimit = limit - prefix;
  while (suffix < suffixLimit && base[base.length - 1 - suffix] === next[next.length - 1 - suffix]) suffix++;
  const middle = next.subarray(prefix, next.length - suffix);
  const header = [...varint(prefix), ...varint(suffix)];
  const out = new Uint8Array(header.length + middle.length);
  out.set(header, 0);
  out.set(middle, header.length);
  return out;
}

/** Rebuilds the new version from `base` and a delta; throws RangeError when they do not fit. */
export function applyDelta(base: Uint8Array, delta: Uint8Array): Uint8Array {
  const [prefix, afterPrefix] = readVarint(delta, 0);
  const [suffix, start] = readVarint(delta, afterPrefix);
  if (prefix + suffix > base.length) throw new RangeError('delta does not fit its base');
  const middle = delta.subarray(start);
  const out = new Uint8Array(prefix + middle.length + suffix);
  out.set(base.subarray(0, prefix), 0);
  out.set(middle, prefix);
  out.set(base.subarray(base.length - suffix), prefix + middle.length);
  return out;
}

function varint(value: number): number[] {
  const bytes: number[] = [];
  let v = value;
  while (v >= 0x80) {
    bytes.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  bytes.push(v);
  return bytes;
}

function readVarint(bytes: Uint8Array, offset: number): [value: number, next: number] {
  let value = 0;
  let scale = 1;
  for (let i = offset; i < bytes.length && i < offset + 8; i++) {
    const b = bytes[i]!;
    value += (b & 0x7f) * scale;
    if ((b & 0x80) === 0) return [value, i + 1];
    scale *= 128;
  }
  throw new RangeError('truncated varint in delta');
}
