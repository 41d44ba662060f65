/**
 * Push envelopes for the protocol fuzzer: a well-formed push (files with their chunk frames, dirs,
 * links, deletions, filler frames, deltas against chunks the hub holds), then damaged in one of
 * many ways. Mostly the damage is small, so the hub's deep code (frame opening, change checks,
 * commit planning, conflict copies) sees it; some cases are noise.
 */
import { compress } from '../../../src/core/compress.ts';
import { type ChunkFrame, makeFrame } from '../../../src/core/frames.ts';
import { fileHashFromChunks, sha256Hex } from '../../../src/core/hash.ts';
import type { Random } from '../random.ts';
import { type Layout, layoutEnvelope, zstdFrameDeclaring } from './envelope.ts';
import { concat, mutateBytes, mutateJson, textTwist } from './mutate.ts';
import { edgyPath } from './paths.ts';
import { stringifyJson } from './values.ts';

export interface FuzzChunk {
  hash: string;
  bytes: Uint8Array;
}

export interface FuzzCase {
  body: Uint8Array<ArrayBuffer>;
  /** Messages this request carries: the header and each chunk frame as built, before damage. */
  frames: number;
  how: string;
}

export class PushCases {
  private pushes = 0;

  constructor(
    private readonly rng: Random,
    private readonly agents: readonly string[],
    /** Chunks the hub holds (seeded before the fuzz): bases for deltas, targets for references. */
    private readonly known: readonly FuzzChunk[],
  ) {}

  /** A valid push: header object and frames. */
  valid(): { header: Record<string, unknown>; frames: ChunkFrame[] } {
    const rng = this.rng;
    const n = ++this.pushes;
    const agent = rng.pick(this.agents);
    const changes: unknown[] = [];
    const frames: ChunkFrame[] = [];
    for (let files = rng.int(0, 10); files > 0; files--) {
      const parts = Array.from({ length: rng.int(1, 3) }, () => this.chunkBytes());
      const hashes = parts.map((p) => sha256Hex(p));
      changes.push({
        path: this.path(),
        vector: this.vector(agent, n),
        content: {
          kind: 'file',
          hash: fileHashFromChunks(hashes),
          size: parts.reduce((s, p) => s + p.length, 0),
          exec: rng.chance(0.2),
          chunks: hashes.map((h, i) => [h, parts[i]!.length]),
          ...(rng.chance(0.3) ? { mode: rng.pick([0o644, 0o755, 0o600, 0o777, 0]) } : {}),
        },
      });
      // Some chunks are left for the hub to ask for (missingChunks), some come as deltas.
      parts.forEach((p, i) => {
        if (!rng.chance(0.1)) frames.push(this.frameOf(hashes[i]!, p));
      });
    }
    for (let others = rng.int(0, 4); others > 0; others--) {
      const content = rng.pick<() => unknown>([
        () => ({ kind: 'dir' }),
        () => ({ kind: 'deleted' }),
        () => ({
          kind: 'symlink',
          target: rng.pick(['../up', '/etc/passwd', 'x', 'a/b/c', 'é'.repeat(2000)]),
        }),
      ])();
      changes.push({ path: this.path(), vector: this.vector(agent, n), content });
    }
    // Chunk-only frames, as an upload's first part: most of the frame count.
    for (let filler = rng.int(0, 160); filler > 0; filler--) {
      const bytes = this.chunkBytes(96);
      frames.push(this.frameOf(sha256Hex(bytes), bytes));
    }
    const header: Record<string, unknown> = { agent, changes };
    if (rng.chance(0.2)) header.branch = rng.pick(['main', 'feature/x', 'b'.repeat(256), '']);
    if (rng.chance(0.2)) header.batch = rng.pick(['edits', 'branch-switch']);
    if (rng.chance(0.3)) header.pushId = sha256Hex(new Uint8Array([n % 7, rng.int(0, 3)])).slice(0, 32);
    return { header, frames };
  }

  /** The next case: a valid push, or one damaged in one way (what `how` says). */
  next(): FuzzCase {
    const rng = this.rng;
    const mode = rng.int(0, 99);
    if (mode < 4) {
      const bytes = rng.bytes(rng.pick([0, 1, 3, 4, 5, 37, 100, rng.int(0, 20_000)]));
      return { body: new Uint8Array(bytes), frames: 1, how: `random ${bytes.length} bytes` };
    }
    if (mode < 7) return this.oversized();
    const { header, frames } = this.valid();
    const count = 1 + frames.length;
    if (mode < 35) {
      const layout = layoutEnvelope(JSON.stringify(header), frames, rng.chance(0.3));
      return { body: layout.bytes, frames: count, how: 'valid' };
    }
    if (mode < 60) {
      const damaged = mutateJson(rng, header);
      const twisted = textTwist(rng, stringifyJson(damaged.value));
      const layout = layoutEnvelope(twisted.text, frames, rng.chance(0.3));
      return { body: layout.bytes, frames: count, how: `header ${damaged.how}; text ${twisted.how}` };
    }
    const layout = layoutEnvelope(JSON.stringify(header), frames, rng.chance(0.3));
    if (mode < 78) {
      const { bytes, how } = mutateBytes(rng, layout.bytes);
      return { body: new Uint8Array(bytes), frames: count, how: `bytes ${how}` };
    }
    return { ...this.damageFrame(layout), frames: count };
  }

  /** Damage aimed at the framing: length words, encodings, bases, payloads. */
  private damageFrame(layout: Layout): { body: Uint8Array<ArrayBuffer>; how: string } {
    const rng = this.rng;
    const bytes = layout.bytes;
    const view = new DataView(bytes.buffer);
    if (layout.frames.length === 0 || rng.chance(0.15)) {
      const word = view.getUint32(0);
      const value = rng.pick([
        word ^ 0x80000000,
        word + 1,
        word - 1,
        0xffffffff,
        0x7fffffff,
        bytes.length,
        0,
      ]);
      view.setUint32(0, value >>> 0);
      return { body: bytes, how: `framing: header length ${word} -> ${value >>> 0}` };
    }
    const index = rng.int(0, layout.frames.length - 1);
    const spot = layout.frames[index]!;
    switch (rng.int(0, 6)) {
      case 0: {
        const code = rng.pick([0, 1, 2, 3, 4, 0x7f, 0xff]);
        bytes[spot.at] = code;
        return { body: bytes, how: `framing: frame ${index} encoding -> ${code}` };
      }
      case 1: {
        const length = view.getUint32(spot.lengthAt);
        const value = rng.pick([length + 1, length - 1, 0xffffffff, 0x7fffffff, 2 ** 20 + 1, 0]);
        view.setUint32(spot.lengthAt, value >>> 0);
        return { body: bytes, how: `framing: frame ${index} length ${length} -> ${value >>> 0}` };
      }
      case 2: {
        const cut = rng.int(spot.at, spot.end);
        return { body: bytes.slice(0, cut), how: `framing: cut in frame ${index} at ${cut}` };
      }
      case 3: {
        // Bad zstd: the frame's payload swapped for damaged, bogus or lying zstd, marked zstd.
        const payload = rng.pick<() => Uint8Array>([
          () => rng.bytes(rng.int(0, 200)),
          () => concat(new Uint8Array([0x28, 0xb5, 0x2f, 0xfd]), rng.bytes(rng.int(0, 60))),
          () => zstdFrameDeclaring(2n ** BigInt(rng.int(20, 62)), rng.bytes(16)),
          () => zstdFrameDeclaring(16n, rng.bytes(rng.int(17, 64))),
          () => mutateBytes(rng, compress(this.chunkBytes(2000))).bytes,
          () => compress(new Uint8Array(rng.pick([2 ** 20, 2 ** 20 + 1, 8 * 2 ** 20]))),
        ])();
        const body = this.replaceFrame(layout, index, 1, undefined, payload);
        return { body, how: `framing: frame ${index} bad zstd (${payload.length} bytes)` };
      }
      case 4: {
        // A delta against a base the hub lacks, or against the wrong one.
        const base = rng.chance(0.5) ? sha256Hex(rng.bytes(8)) : rng.pick(this.known).hash;
        const payload = rng.chance(0.5)
          ? compress(this.chunkBytes(500), rng.pick(this.known).bytes)
          : rng.bytes(rng.int(0, 100));
        const body = this.replaceFrame(layout, index, 2, base, payload);
        return { body, how: `framing: frame ${index} delta against ${base.slice(0, 8)}` };
      }
      case 5: {
        // The frame claims another chunk's hash.
        bytes.set(Buffer.from(rng.pick(this.known).hash, 'hex'), spot.at + 1);
        return { body: bytes, how: `framing: frame ${index} names a known chunk` };
      }
      default: {
        // The same frame many times.
        const frame = bytes.slice(spot.at, spot.end);
        const copies = rng.pick([2, 50, 2000]);
        return {
          body: concat(bytes, ...Array.from({ length: copies }, () => frame)),
          how: `framing: frame ${index} x${copies}`,
        };
      }
    }
  }

  private replaceFrame(
    layout: Layout,
    index: number,
    code: number,
    base: string | undefined,
    payload: Uint8Array,
  ): Uint8Array<ArrayBuffer> {
    const spot = layout.frames[index]!;
    const head = new Uint8Array(1 + 32 + (code === 2 ? 32 : 0) + 4);
    head[0] = code;
    head.set(layout.bytes.subarray(spot.at + 1, spot.at + 33), 1);
    if (base) head.set(Buffer.from(base, 'hex'), 33);
    new DataView(head.buffer).setUint32(head.length - 4, payload.length);
    return concat(layout.bytes.subarray(0, spot.at), head, payload, layout.bytes.subarray(spot.end));
  }

  /** Requests over one of the hub's bounds, or built to test one. */
  private oversized(): FuzzCase {
    const rng = this.rng;
    const agent = rng.pick(this.agents);
    switch (rng.int(0, 4)) {
      case 0: {
        const change = { path: 'x', vector: { [agent]: 1 }, content: { kind: 'dir' } };
        const header = JSON.stringify({ agent, changes: Array.from({ length: 50_001 }, () => change) });
        return { body: layoutEnvelope(header, [], true).bytes, frames: 1, how: 'bound: 50,001 changes' };
      }
      case 1: {
        // A header that inflates past 32 MiB.
        const header = JSON.stringify({ agent, changes: [], pad: 'x'.repeat(33 * 2 ** 20) });
        return { body: layoutEnvelope(header, [], true).bytes, frames: 1, how: 'bound: header bomb' };
      }
      case 2: {
        // A file of 20,000 chunks the hub lacks: a long answer of missing chunks.
        const chunks = Array.from({ length: 20_000 }, (_, i) => [
          sha256Hex(new Uint8Array(new Uint32Array([i, rng.nextUint32()]).buffer)),
          100,
        ]);
        const content = {
          kind: 'file',
          hash: fileHashFromChunks(chunks.map(([h]) => h as string)),
          size: 100 * chunks.length,
          exec: false,
          chunks,
        };
        const header = JSON.stringify({
          agent,
          changes: [{ path: 'big.bin', vector: { [agent]: 1 }, content }],
        });
        return {
          body: layoutEnvelope(header, [], true).bytes,
          frames: 1,
          how: 'bound: 20,000 missing chunks',
        };
      }
      case 3: {
        // Tiny frames of zeros that would inflate far past the per-push budget.
        const zeros = compress(new Uint8Array(2 ** 20));
        const frames: ChunkFrame[] = Array.from({ length: 300 }, () => ({
          hash: sha256Hex(rng.bytes(8)),
          encoding: 'zstd',
          payload: zeros,
        }));
        return {
          body: layoutEnvelope(JSON.stringify({ agent, changes: [] }), frames, false).bytes,
          frames: 301,
          how: 'bound: inflation bomb',
        };
      }
      default: {
        const count = rng.pick([1000, 5000]);
        const frames: ChunkFrame[] = Array.from({ length: count }, () => ({
          hash: '0'.repeat(64),
          encoding: 'raw',
          payload: new Uint8Array(0),
        }));
        return {
          body: layoutEnvelope(JSON.stringify({ agent, changes: [] }), frames, false).bytes,
          frames: count + 1,
          how: `bound: ${count} empty frames`,
        };
      }
    }
  }

  private frameOf(hash: string, bytes: Uint8Array): ChunkFrame {
    const rng = this.rng;
    if (rng.chance(0.2)) return makeFrame(hash, bytes, rng.pick(this.known));
    return rng.chance(0.5) ? { hash, encoding: 'raw', payload: bytes } : makeFrame(hash, bytes);
  }

  /** Chunk content: text that compresses, or noise, or a known chunk edited (good for deltas). */
  private chunkBytes(max = 3000): Uint8Array {
    const rng = this.rng;
    const length = rng.int(0, max);
    if (rng.chance(0.3)) {
      const base = new Uint8Array(rng.pick(this.known).bytes);
      if (base.length > 0) base[rng.int(0, base.length - 1)] = rng.int(0, 255);
      return base;
    }
    if (rng.chance(0.5)) return rng.bytes(length);
    return new TextEncoder().encode(
      `line ${rng.int(0, 9999)}\n`.repeat(Math.ceil(length / 10)).slice(0, length),
    );
  }

  /** Paths: a small pool that collides often (conflicts, files under files), and hostile ones. */
  private path(): string {
    const rng = this.rng;
    // Paths the rules refuse come from the damaged headers; valid pushes stay valid.
    if (rng.chance(0.1)) return edgyPath(rng);
    return rng.pick([
      () => `src/m${rng.int(0, 40)}.ts`,
      () => `docs/n${rng.int(0, 10)}`,
      () => `d${rng.int(0, 5)}`,
      () => `d${rng.int(0, 5)}/e${rng.int(0, 5)}`,
      () => `d${rng.int(0, 5)}/e${rng.int(0, 5)}/f.txt`,
      () => `Case${rng.int(0, 3)}.txt`,
      () => `case${rng.int(0, 3)}.TXT`,
    ])();
  }

  /**
   * Vectors that make every resolution happen: dominating (accepted), the agent's own counter
   * (accepted or concurrent), stale (conflict or unchanged).
   */
  private vector(agent: string, n: number): Record<string, number> {
    const rng = this.rng;
    const mode = rng.int(0, 9);
    if (mode < 4) return Object.fromEntries([...this.agents, '~hub'].map((a) => [a, n * 4 + 1000]));
    if (mode < 7) return { [agent]: n * 4 + rng.int(0, 3) };
    if (mode < 9) return { [agent]: 1 };
    return {};
  }
}
