/**
 * Every bound the hub puts on one request, in one place, each with the reason for its number.
 * The protocol schemas and the envelope decoder read the fixed ones; the hub takes `HubLimits`
 * (tests may lower them to reach a limit with little data). A request over a bound is answered
 * 413 (too big) or 429 (too many at once), and the message names the bound.
 *
 * Reference points: the agent uploads in envelopes of about 8 MiB of frame payload
 * (`ENVELOPE_BYTES` in src/agent/transfer.ts), chunks are 16-256 KiB (src/core/chunk.ts), and a
 * push carries at most 50,000 changes.
 */

/** Largest request body (default of `serve --max-body`): eight agent envelopes with headroom. */
export const MAX_BODY_BYTES = 64 * 1024 * 1024;

/**
 * A JSON header, once inflated. 50,000 changes of about 300 bytes each (path, hash, one chunk,
 * a vector of a few agents) make 15 MB; twice that leaves room for long paths and vectors, where
 * the old bound (256 MiB) let a 64 MiB body inflate four times past the body limit itself.
 */
export const MAX_HEADER_BYTES = 32 * 1024 * 1024;

/** One chunk, once inflated. The chunker cuts at 256 KiB at most; this leaves room for other cutters. */
export const MAX_CHUNK_BYTES = 1024 * 1024;

/**
 * A file's declared size. Chunks are at most MAX_CHUNK_BYTES and a file has at most 1,000,000 of
 * them (the protocol's bound), so no file the hub could store is larger; the agent's chunker (256
 * KiB at most) reaches 244 GiB. Bounding the size itself keeps every sum of declared chunk sizes an
 * exact integer: a double counts exactly to 2^53 only, and past it a chunk list could add up to
 * its file's size while missing bytes (2^53 + 1 is 2^53).
 */
export const MAX_FILE_BYTES = 1024 ** 4;

/** Chunks of one file: 1,000,000 chunks of the chunker's largest (256 KiB) make 244 GiB. */
export const MAX_CHUNKS_PER_FILE = 1_000_000;

/** Hashes in one `/v1/chunks/missing` request: 670 KB of JSON and as many store lookups. */
export const MAX_MISSING_HASHES = 10_000;

/** Chunks asked for in one `/v1/chunks/fetch` request (the agent asks for 2,000 at a time). */
export const MAX_FETCH_WANT = 10_000;

/** Changes in one push: a checkout of a large tree, sent as one batch. */
export const MAX_PUSH_CHANGES = 50_000;

export interface HubLimits {
  /**
   * Chunk frames in one push. Each costs a store write; an agent's 8 MiB envelope holds this many
   * only if its frames average under 42 bytes, while a 64 MiB body of empty frames would hold 1.8
   * million.
   */
  pushFrames: number;
  /**
   * Bytes all frames of one push inflate to, together. Each frame is capped at MAX_CHUNK_BYTES,
   * but 64 MiB of tiny zstd frames of zeros would inflate to about 750 GiB. Source, text and
   * binaries compress 2-10 times, so an agent's 8 MiB envelope stays far below 32 times its size.
   */
  pushInflatedBytes: number;
  /**
   * Pushes of one workspace the hub works on at once; more get 429 and retry. Each may hold a
   * 64 MiB body; an agent uploads three at a time, so two agents in initial sync fit side by side.
   */
  pushesPerWorkspace: number;
  /**
   * Pushes one workspace credential has in progress at once; more get 429 and retry. An agent
   * uploads three at a time and may resend one whose answer was lost; half the workspace's slots,
   * so one credential (a runaway agent, or a leaked token) leaves the rest to the others. The
   * admin credential has none: it may do everything anyway, and a hub without credentials (where
   * every agent is the admin) listens on loopback only.
   */
  pushesPerCredential: number;
  /** Frame payload bytes in one fetch reply; the agent asks again for what was left out. */
  fetchReplyBytes: number;
  /**
   * Raw chunk bytes the hub reads for one fetch reply, whatever they compress to: bounds the
   * reads and compression one request costs (well-compressing chunks would otherwise let 16 MiB
   * of frames stand for 10,000 MiB of reads).
   */
  fetchRawBytes: number;
  /**
   * One message from an agent on the live socket. The largest the schema allows (1,000 problems
   * with 4,200-character paths and 500-character messages) is under 5 MB.
   */
  liveMessageBytes: number;
  /**
   * Bytes a live socket may hold unsent before the next notification. The largest notification is
   * about 16 MiB (64 inline files of 256 KiB); a socket still holding this much when the next
   * comes has a reader that stopped reading: the hub closes it, and the agent reconnects and
   * catches up from its cursor over HTTP, instead of the hub buffering without bound.
   */
  liveBacklogBytes: number;
}

export const HUB_LIMITS: Readonly<HubLimits> = {
  pushFrames: 200_000,
  pushInflatedBytes: 256 * 1024 * 1024,
  pushesPerWorkspace: 8,
  pushesPerCredential: 4,
  fetchReplyBytes: 16 * 1024 * 1024,
  fetchRawBytes: 64 * 1024 * 1024,
  liveMessageBytes: 8 * 1024 * 1024,
  liveBacklogBytes: 16 * 1024 * 1024,
};

/** Formats a byte count for a limit message: "256 MiB", "64 KiB", "100 bytes". */
export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} bytes`;
}
