import { describe, expect, it } from 'bun:test';
import { compress } from '../../src/core/compress.ts';
import {
  type ChunkFrame,
  decodeEnvelope,
  encodeEnvelope,
  FrameError,
  MAX_CHUNK_BYTES,
  makeFrame,
  openFrame,
} from '../../src/core/frames.ts';
import { sha256Hex } from '../../src/core/hash.ts';
import { Random, testSeed } from '../helpers/random.ts';

const seed = testSeed();
const text = (s: string) => new TextEncoder().encode(s);
const noBase = () => undefined;

/** The FrameError code `run` throws, or a description of what happened instead. */
function frameErrorCode(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    return error instanceof FrameError ? error.code : `not a FrameError: ${String(error)}`;
  }
  return 'no error';
}

/** A compressible chunk, a similar version of it, and a random (incompressible) chunk. */
function sampleChunks(random: Random) {
  const lines = Array.from({ length: 200 }, (_, i) => `export const item${i} = ${random.int(0, 1e6)};`);
  const base = text(lines.join('\n'));
  lines[100] = 'export const changed = true;';
  const edited = text(lines.join('\n'));
  const noise = random.bytes(4096);
  return { base, edited, noise };
}

function framesFor(random: Random) {
  const { base, edited, noise } = sampleChunks(random);
  const baseHash = sha256Hex(base);
  const frames: ChunkFrame[] = [
    makeFrame(sha256Hex(noise), noise),
    makeFrame(baseHash, base),
    makeFrame(sha256Hex(edited), edited, { hash: baseHash, bytes: base }),
  ];
  return { base, edited, noise, baseHash, frames };
}

describe('makeFrame', () => {
  it('keeps a chunk under 64 bytes raw', () => {
    const bytes = text('a'.repeat(63));
    expect(makeFrame(sha256Hex(bytes), bytes).encoding).toBe('raw');
  });

  it('keeps incompressible bytes raw', () => {
    const bytes = new Random(seed).bytes(4096);
    expect(makeFrame(sha256Hex(bytes), bytes).encoding, `seed ${seed}`).toBe('raw');
  });

  it('compresses compressible bytes when that is smaller', () => {
    const bytes = text('abc'.repeat(1000));
    const frame = makeFrame(sha256Hex(bytes), bytes);
    expect(frame.encoding).toBe('zstd');
    expect(frame.payload.length).toBeLessThan(bytes.length);
  });

  it('sends a delta against a similar base and names that base', () => {
    const { base, edited } = sampleChunks(new Random(seed));
    const frame = makeFrame(sha256Hex(edited), edited, { hash: sha256Hex(base), bytes: base });
    expect(frame.encoding, `seed ${seed}`).toBe('delta');
    expect(frame.base, `seed ${seed}`).toBe(sha256Hex(base));
    expect(frame.payload.length, `seed ${seed}`).toBeLessThan(100);
  });

  it('takes the smaller of the delta and the chunk compressed on its own when the base is unlike it', () => {
    const rng = new Random(seed);
    const words = ['sync', 'chunk', 'hub', 'agent', 'vector', 'frame', 'delta', 'tree'];
    const bytes = text(Array.from({ length: 1500 }, () => words[rng.int(0, words.length - 1)]).join(' '));
    const unlike = rng.bytes(4096);
    const frame = makeFrame(sha256Hex(bytes), bytes, { hash: sha256Hex(unlike), bytes: unlike });
    const smallest = Math.min(compress(bytes).length, compress(bytes, unlike).length);
    expect(frame.payload.length, `seed ${seed}`).toBe(smallest);
  });

  it('does not send a delta against a base with the same hash as the chunk', () => {
    const bytes = text('abc'.repeat(1000));
    const hash = sha256Hex(bytes);
    expect(makeFrame(hash, bytes, { hash, bytes }).encoding).toBe('zstd');
  });
});

describe('openFrame', () => {
  it('opens a raw, a zstd and a delta frame to the original bytes', () => {
    const { base, edited, noise, baseHash, frames } = framesFor(new Random(seed));
    expect(
      frames.map((f) => f.encoding),
      `seed ${seed}`,
    ).toEqual(['raw', 'zstd', 'delta']);
    const lookup = (hash: string) => (hash === baseHash ? base : undefined);
    const opened = frames.map((f) => Buffer.from(openFrame(f, lookup)));
    expect(opened, `seed ${seed}`).toEqual([Buffer.from(noise), Buffer.from(base), Buffer.from(edited)]);
  });

  const bytes = text('hello');
  const hash = sha256Hex(bytes);
  const otherHash = sha256Hex(text('other'));
  const cases: [
    name: string,
    frame: ChunkFrame,
    lookup: (hash: string) => Uint8Array | undefined,
    code: string,
  ][] = [
    [
      'raw bytes that do not match the hash',
      { hash: otherHash, encoding: 'raw', payload: bytes },
      noBase,
      'hash-mismatch',
    ],
    [
      'compressed bytes that do not match the hash',
      { hash: otherHash, encoding: 'zstd', payload: compress(bytes) },
      noBase,
      'hash-mismatch',
    ],
    [
      'a delta whose base the receiver does not hold',
      {
        hash,
        encoding: 'delta',
        base: otherHash,
        payload: compress(bytes, text('jello')),
      },
      noBase,
      'missing-base',
    ],
    [
      'a delta frame with no base named',
      { hash, encoding: 'delta', payload: compress(bytes, text('jello')) },
      () => text('jello'),
      'missing-base',
    ],
    [
      'a zstd payload that is not zstd data',
      { hash, encoding: 'zstd', payload: text('\xff\xff\xff') },
      noBase,
      'malformed',
    ],
    [
      'a delta that decodes to other bytes than its hash names',
      {
        hash,
        encoding: 'delta',
        base: otherHash,
        payload: compress(new Uint8Array([50, 50]), text('jello')),
      },
      () => text('jello'),
      'hash-mismatch',
    ],
    [
      'a delta payload that is not zstd data',
      { hash, encoding: 'delta', base: otherHash, payload: new Uint8Array([0xff, 0xff]) },
      () => text('jello'),
      'malformed',
    ],
  ];
  for (const [name, frame, lookup, code] of cases) {
    it(`throws FrameError('${code}') for ${name}`, () => {
      expect(frameErrorCode(() => openFrame(frame, lookup))).toBe(code);
    });
  }

  it('opens a delta against the right base', () => {
    const frame: ChunkFrame = {
      hash,
      encoding: 'delta',
      base: otherHash,
      payload: compress(bytes, text('jello')),
    };
    expect(new TextDecoder().decode(openFrame(frame, () => text('jello')))).toBe('hello');
  });
});

describe('encodeEnvelope then decodeEnvelope', () => {
  const header = { agent: 'a1', changes: [{ path: 'src/é.ts' }] };

  it('gives back the header and every raw, zstd and delta frame', () => {
    const { frames } = framesFor(new Random(seed));
    const decoded = decodeEnvelope(encodeEnvelope(header, frames));
    expect(decoded.header, `seed ${seed}`).toEqual(header);
    expect(
      decoded.frames.map((f) => ({ ...f, payload: Buffer.from(f.payload) })),
      `seed ${seed}`,
    ).toEqual(frames.map((f) => ({ ...f, payload: Buffer.from(f.payload) })));
  });

  it('gives back a header with no frames', () => {
    expect(decodeEnvelope(encodeEnvelope({ type: 'hello', head: 3 }, []))).toEqual({
      header: { type: 'hello', head: 3 },
      frames: [],
    });
  });

  it('gives back an empty payload', () => {
    const frame = makeFrame(sha256Hex(new Uint8Array()), new Uint8Array());
    const [decoded] = decodeEnvelope(encodeEnvelope(null, [frame])).frames;
    expect(decoded?.payload.length).toBe(0);
    expect(decoded?.hash).toBe(frame.hash);
  });

  it('decodes an envelope that sits at an offset inside a larger buffer', () => {
    const { frames } = framesFor(new Random(seed));
    const envelope = encodeEnvelope(header, frames);
    const buffer = new Uint8Array(envelope.length + 10);
    buffer.set(envelope, 7);
    const decoded = decodeEnvelope(buffer.subarray(7, 7 + envelope.length));
    expect(decoded.header, `seed ${seed}`).toEqual(header);
    expect(
      decoded.frames.map((f) => f.hash),
      `seed ${seed}`,
    ).toEqual(frames.map((f) => f.hash));
  });
});

describe('encodeEnvelope', () => {
  it("throws FrameError('malformed') for a chunk hash that is not 64 hex digits", () => {
    const frame: ChunkFrame = { hash: 'ABC', encoding: 'raw', payload: text('x') };
    expect(frameErrorCode(() => encodeEnvelope({}, [frame]))).toBe('malformed');
  });

  it("throws FrameError('malformed') for a delta frame with no base", () => {
    const frame: ChunkFrame = { hash: sha256Hex(text('x')), encoding: 'delta', payload: text('x') };
    expect(frameErrorCode(() => encodeEnvelope({}, [frame]))).toBe('malformed');
  });
});

describe('decodeEnvelope on damaged input', () => {
  /** Byte offsets at which a complete envelope of the first k frames ends. */
  function frameBoundaries(frames: readonly ChunkFrame[], headerBytes: number): Set<number> {
    const ends = new Set<number>([4 + headerBytes]);
    let at = 4 + headerBytes;
    for (const f of frames) {
      at += 1 + 32 + (f.encoding === 'delta' ? 32 : 0) + 4 + f.payload.length;
      ends.add(at);
    }
    return ends;
  }

  it("throws FrameError('malformed'), and nothing else, for every cut that is not at a frame boundary", () => {
    const random = new Random(seed);
    const noise = random.bytes(100);
    const small = text('abc'.repeat(40));
    const base = text('the base chunk, long enough to be worth a delta. '.repeat(4));
    const next = text('the base chunk, long enough to be worth a delta! '.repeat(4));
    const frames: ChunkFrame[] = [
      makeFrame(sha256Hex(noise), noise),
      makeFrame(sha256Hex(small), small),
      { hash: sha256Hex(next), encoding: 'delta', base: sha256Hex(base), payload: compress(next, base) },
    ];
    expect(frames.map((f) => f.encoding)).toEqual(['raw', 'zstd', 'delta']);
    const header = { note: 'héllo' };
    const envelope = encodeEnvelope(header, frames);
    const boundaries = frameBoundaries(frames, new TextEncoder().encode(JSON.stringify(header)).length);
    for (let length = 0; length < envelope.length; length++) {
      if (boundaries.has(length)) continue;
      expect(
        frameErrorCode(() => decodeEnvelope(envelope.slice(0, length))),
        `seed ${seed}, cut at ${length}`,
      ).toBe('malformed');
    }
  });

  it('reads a cut exactly at a frame boundary as an envelope of the frames before it', () => {
    // The format carries no frame count: a receiver learns of lost chunks from the header's chunk
    // lists (the hub answers with missingChunks), not from the framing.
    const a = text('first chunk');
    const b = text('second chunk');
    const envelope = encodeEnvelope({}, [makeFrame(sha256Hex(a), a), makeFrame(sha256Hex(b), b)]);
    const firstEnds = 4 + 2 + 1 + 32 + 4 + a.length;
    expect(decodeEnvelope(envelope.slice(0, firstEnds)).frames.map((f) => f.hash)).toEqual([sha256Hex(a)]);
  });

  function withHeader(json: Uint8Array, rest: number[] = []): Uint8Array {
    const out = new Uint8Array(4 + json.length + rest.length);
    new DataView(out.buffer).setUint32(0, json.length);
    out.set(json, 4);
    out.set(rest, 4 + json.length);
    return out;
  }

  const hash = sha256Hex(text('x'));
  const validFrame = encodeEnvelope({}, [{ hash, encoding: 'raw', payload: text('x') }]).subarray(6);
  const cases: [name: string, bytes: Uint8Array][] = [
    ['an empty buffer', new Uint8Array()],
    ['a header that is not JSON', withHeader(text('{not json'))],
    ['an empty header', withHeader(new Uint8Array())],
    ['a header that is not UTF-8', withHeader(new Uint8Array([0x22, 0xff, 0x22]))],
    ['a header length past the end', new Uint8Array([0, 0, 1, 0, 0x7b, 0x7d])],
    ['a header length of 2^32 - 1', new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x7b, 0x7d])],
    ['an unknown frame encoding', withHeader(text('{}'), [3, ...validFrame.subarray(1)])],
    ['frame encoding 255', withHeader(text('{}'), [255, ...validFrame.subarray(1)])],
    [
      'a payload length past the end',
      withHeader(text('{}'), [0, ...new Uint8Array(32), 0xff, 0xff, 0xff, 0xff, 1, 2, 3]),
    ],
    ['one stray byte after the last frame', withHeader(text('{}'), [...validFrame, 0])],
  ];
  for (const [name, bytes] of cases) {
    it(`throws FrameError('malformed') for ${name}`, () => {
      expect(frameErrorCode(() => decodeEnvelope(bytes))).toBe('malformed');
    });
  }

  it('decodes the hand-built valid frame those cases start from', () => {
    expect(decodeEnvelope(withHeader(text('{}'), [...validFrame])).frames.map((f) => f.hash)).toEqual([hash]);
  });
});

describe('delta frames', () => {
  it('send a multi-hunk edit of a 40 KB text in well under 1% of its size', () => {
    const base = new TextEncoder().encode(
      Array.from(
        { length: 1000 },
        (_, i) => `export const value${i} = computeSomething(${i}, 'label ${i}');\n`,
      ).join(''),
    );
    const next = new TextEncoder().encode(
      new TextDecoder()
        .decode(base)
        .replace('value10 ', 'renamed10 ')
        .replace("'label 500'", "'changed'")
        .replace('(999,', '(1999,'),
    );
    const frame = makeFrame(sha256Hex(next), next, { hash: sha256Hex(base), bytes: base });
    expect(frame.encoding).toBe('delta');
    expect(frame.payload.length).toBeLessThan(next.length / 100);
    expect(openFrame(frame, () => base)).toEqual(next);
  });

  it('refuse to open against another base than the one they were made with', () => {
    const base = new TextEncoder().encode('the quick brown fox jumps over the lazy dog\n'.repeat(200));
    const next = new TextEncoder().encode(`${new TextDecoder().decode(base)}one more line\n`);
    const frame = makeFrame(sha256Hex(next), next, { hash: sha256Hex(base), bytes: base });
    const wrong = new TextEncoder().encode('z'.repeat(base.length));
    expect(frame.encoding).toBe('delta');
    expect(['malformed', 'hash-mismatch']).toContain(
      frameErrorCode(() => openFrame(frame, () => wrong)) ?? 'none',
    );
  });

  it('refuse a frame that would inflate past the chunk limit', () => {
    const huge = new Uint8Array(MAX_CHUNK_BYTES + 1);
    const frame: ChunkFrame = { hash: sha256Hex(huge), encoding: 'zstd', payload: compress(huge) };
    expect(() => openFrame(frame, () => undefined)).toThrow(FrameError);
  });
});

describe('envelope headers', () => {
  it('compress a long header and read it back', () => {
    const header = {
      changes: Array.from({ length: 200 }, (_, i) => ({ path: `src/module-${i}.ts`, size: i })),
    };
    const envelope = encodeEnvelope(header, []);
    expect(envelope.length).toBeLessThan(JSON.stringify(header).length / 3);
    expect(decodeEnvelope(envelope).header).toEqual(header);
  });

  it('leave a short header as plain JSON', () => {
    const envelope = encodeEnvelope({ a: 1 }, []);
    expect(new TextDecoder().decode(envelope.subarray(4))).toBe('{"a":1}');
  });

  it('refuse a compressed header that is not zstd', () => {
    const bytes = new Uint8Array([0x80, 0, 0, 3, 1, 2, 3]);
    expect(frameErrorCode(() => decodeEnvelope(bytes))).toBe('malformed');
  });
});
