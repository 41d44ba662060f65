/**
 * The hub side of the agent: the remote versions it announced and that are not yet applied or
 * superseded (`pending`), read page by page past the cursor (catch-up) and as they are accepted
 * (the live socket, reconnected with backoff), the epoch that tells whether the hub went back,
 * and the cursor that moves once a cycle is done.
 *
 * Invariant: the cursor only moves past versions that left `pending` (applied, superseded) or are
 * kept as deferred in the state, so a crash at any point re-fetches whatever was not done.
 */
import {
  EDIT_MIN_CHUNKS,
  expandContent,
  expansionOf,
  listsOf,
  MAX_EXPANDED_CHUNKS,
} from '../core/chunk-edit.ts';
import { cursorAfterCycle, isDeferred } from '../core/cycle-plan.ts';
import type { EntryContent, ManifestEntry } from '../core/entry.ts';
import { cursorBelowFloor, expiredDeletions } from '../core/expired-tombstones.ts';
import type { ChunkFrame } from '../core/frames.ts';
import { checkRelativePath } from '../core/paths.ts';
import type { LiveHeader, Problem, UnreadableEntry, WireLiveHeader } from '../core/protocol.ts';
import { type HubClient, HubError } from './client.ts';
import type { AgentState } from './state.ts';

/** A live message announcing versions the hub accepted. */
export type LiveEntries = Extract<LiveHeader, { type: 'entries' }>;

const RECONNECT_FIRST_MS = 250;
const RECONNECT_MAX_MS = 5000;
/** Large files' announced contents kept for the next message's edit (see RemoteFeed.announced). */
const ANNOUNCED_KEPT = 4;

export interface RemoteFeedDeps {
  client: HubClient;
  /** Cursor, epoch and deferred versions live in the agent's state. */
  state: AgentState;
  /** Whether paths under `.git/` sync. */
  allowGit: boolean;
  log: (line: string) => void;
  /** A remote version that can never be written here (an invalid path): to be reported. */
  onInvalid: (problem: Problem) => void;
  /** The hub went back: every sequence number of the old epoch is forgotten. */
  onStartOver: () => void;
  /** Live events, each to be handled in the agent's queue. */
  live: {
    /** Versions the hub accepted (`frames` may carry their chunks inline). */
    entries: (header: LiveEntries, frames: ChunkFrame[]) => void;
    /** Another agent could not get these chunks from the hub. */
    wanted: (hashes: readonly string[]) => void;
    /** The connection opened with the hub at another head or epoch: a catch-up is due. */
    behind: () => void;
    /** The connection is back after a loss: a catch-up is due. */
    reconnected: () => void;
  };
}

/**
 * A failure that may pass when tried again: the hub could not be reached or answered 5xx. A hub
 * that answers and refuses (4xx: a bad token, a bad workspace name) is final.
 */
export function transientHubFailure(error: unknown): boolean {
  const status = (error as { status?: number }).status;
  return !(status !== undefined && status >= 400 && status < 500);
}

/** The hub's versions as the agent follows them (see the file's comment). */
export class RemoteFeed {
  /** Remote versions announced but not yet applied or superseded, by path. */
  readonly pending = new Map<string, ManifestEntry>();
  /**
   * Large files' contents live messages announced that the agent's queue has not taken in yet
   * (see receive), by path: the next message about such a file is an edit of that version. A
   * few at most (ANNOUNCED_KEPT), as each holds a chunk list of up to a million entries.
   */
  private readonly announced = new Map<string, EntryContent>();
  private highestSeenValue: number;
  private socket: { send: (m: unknown) => void; close: () => void } | undefined;
  private reconnectDelayMs = RECONNECT_FIRST_MS;
  private stopped = false;

  constructor(private readonly deps: RemoteFeedDeps) {
    this.highestSeenValue = deps.state.cursor;
    // Deferred versions are pending again: the cursor already moved past them.
    for (const [path, deferred] of deps.state.deferred) this.pending.set(path, deferred.entry);
  }

  /** The highest sequence number the hub has shown (a head, an entry, a live batch). */
  get highestSeen(): number {
    return this.highestSeenValue;
  }

  /**
   * Retries the first contact with the hub with backoff (up to 30 s apart) while it cannot be
   * reached: a container may start before its hub. A hub that answers and refuses, or whose
   * certificate does not verify, is final and thrown at once: waiting would only hide a setting
   * to fix.
   */
  async waitForHub(): Promise<void> {
    let delay = 500;
    for (;;) {
      try {
        await this.deps.client.changes(this.deps.state.cursor);
        return;
      } catch (error) {
        if (this.stopped || !transientHubFailure(error)) throw error;
        if (error instanceof HubError && error.certificate) throw error;
        this.deps.log(
          `waiting for the hub (${(error as Error).message}); next try in ${Math.round(delay / 1000)} s`,
        );
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 30_000);
      }
    }
  }

  /**
   * Reads the hub's entries past `since`, page by page, noting each (`onEntry` sees it first).
   * Resolves true when the hub went back (a new epoch, or a head below the cursor): the old
   * epoch's sequence numbers are then forgotten and the workspace is read again from zero.
   */
  async catchUp(since: number, onEntry: (entry: ManifestEntry) => void): Promise<boolean> {
    const { client, state } = this.deps;
    let startedOver = false;
    /** Set when the hub dropped deletions after `since`: every path the full read lists. */
    let listed: Set<string> | undefined;
    for (;;) {
      const page = await client.changes(since);
      const known = state.epoch;
      const cursor = Math.max(state.cursor, 0);
      if (!startedOver && ((known && page.epoch && page.epoch !== known) || page.head < cursor)) {
        this.deps.log(
          `the hub went back (epoch ${known ?? 'none'} -> ${page.epoch || 'none'}, head ${page.head}, cursor ${cursor}); reading the workspace again from zero`,
        );
        this.startOver();
        startedOver = true;
        since = 0;
        continue;
      }
      if (!listed && cursorBelowFloor(since, page.floor)) {
        this.deps.log(
          `the hub dropped deletions up to ${page.floor} (past retention) and this agent read up to ${since}; reading the whole workspace to find them`,
        );
        listed = new Set();
        since = 0;
        continue;
      }
      if (page.epoch && page.epoch !== known) state.setEpoch(page.epoch);
      for (const entry of page.entries) {
        listed?.add(entry.path);
        onEntry(entry);
        this.note(entry);
      }
      for (const entry of page.unreadable) this.noteUnreadable(entry, listed);
      const seqs = [...page.entries.map((e) => e.seq), ...page.unreadable.flatMap((e) => e.seq ?? [])];
      if (listed && (!page.more || seqs.length === 0))
        for (const gone of expiredDeletions(state.bases, listed, page.floor ?? page.head))
          if (!this.pending.has(gone.path)) this.note(gone);
      this.highestSeenValue = Math.max(this.highestSeenValue, page.head, ...seqs);
      if (!page.more || seqs.length === 0) break;
      since = Math.max(...seqs);
    }
    return startedOver;
  }

  /**
   * Takes in a live batch, in the agent's queue: a gap before it is read by a catch-up first.
   * Resolves to the paths the batch names.
   */
  async receive(header: LiveEntries, catchUp: () => Promise<unknown>): Promise<Set<string>> {
    if (header.from > this.highestSeenValue + 1) await catchUp();
    for (const entry of header.entries) {
      if (this.announced.get(entry.path) === entry.content) this.announced.delete(entry.path);
      if (entry.seq > this.deps.state.cursor) this.note(entry);
    }
    this.highestSeenValue = Math.max(this.highestSeenValue, header.to);
    return new Set(header.entries.map((e) => e.path));
  }

  /** Forgets the old epoch's cursor and waiting versions (the agent forgets its intents). */
  private startOver(): void {
    const { state } = this.deps;
    state.setCursor(0);
    this.highestSeenValue = 0;
    this.pending.clear();
    this.announced.clear();
    for (const path of [...state.deferred.keys()]) state.setDeferred(path, undefined);
    this.deps.onStartOver();
  }

  /**
   * An entry that could not be read is reported and passed over: its path keeps what it has here
   * (nothing is written or deleted for it), and the next readable version of it applies as usual.
   * Listed in a full read, so that a base it names is not taken for a deletion the hub dropped.
   */
  private noteUnreadable(entry: UnreadableEntry, listed: Set<string> | undefined): void {
    if (entry.path !== undefined) listed?.add(entry.path);
    this.deps.onInvalid({
      path: entry.path ?? `(entry ${entry.seq ?? 'without a sequence number'})`,
      code: 'unreadable-entry',
      message: `the hub's entry${entry.seq === undefined ? '' : ` ${entry.seq}`} cannot be read here (${entry.message.slice(0, 300)}); left as it is`,
    });
  }

  private note(entry: ManifestEntry): void {
    const check = checkRelativePath(entry.path, { allowGit: this.deps.allowGit });
    if (!check.ok) {
      this.deps.onInvalid({ path: entry.path, code: `invalid-path:${check.code}`, message: check.reason });
      return;
    }
    const known = this.pending.get(entry.path);
    if (!known || known.seq < entry.seq) {
      this.pending.set(entry.path, entry);
      // A newer version replaces one that was waiting: the wait is over, the new one is tried.
      if (this.deps.state.deferred.has(entry.path)) this.deps.state.setDeferred(entry.path, undefined);
    }
  }

  /** Remote versions up to `head` still to be written (deferred ones are not waited for). */
  waitingUpTo(head: number): number {
    let waiting = 0;
    for (const entry of this.pending.values())
      if (entry.seq <= head && !isDeferred(entry, this.deps.state.deferred)) waiting++;
    return waiting;
  }

  /** Moves the cursor as far as the cycle allows and tells the hub, with `localPending` changes noted. */
  advanceCursor(localPending: number): void {
    const { state } = this.deps;
    const cursor = cursorAfterCycle(
      state.cursor,
      this.highestSeenValue,
      this.pending.values(),
      state.deferred,
    );
    if (cursor > state.cursor) state.setCursor(cursor);
    this.send({ type: 'cursor', cursor: state.cursor, pending: localPending });
  }

  /** Sends a message over the live socket, when it is open. */
  send(message: unknown): void {
    this.socket?.send(message);
  }

  /** Opens the live socket, and again after every loss (250 ms, doubling, at most 5 s apart). */
  connect(): void {
    if (this.stopped) return;
    this.socket = this.deps.client.live({
      onOpen: () => {
        this.reconnectDelayMs = RECONNECT_FIRST_MS;
        this.deps.log('live connection open');
      },
      onMessage: (header, frames) => this.onMessage(header, frames),
      // A batch with an entry this agent cannot read: the catch-up takes the rest of it.
      onUnreadable: () => this.deps.live.behind(),
      onClose: (reason) => {
        if (this.stopped) return;
        this.deps.log(`live connection lost (${reason}); reconnecting in ${this.reconnectDelayMs} ms`);
        setTimeout(() => {
          this.connect();
          this.deps.live.reconnected();
        }, this.reconnectDelayMs);
        this.reconnectDelayMs = Math.min(this.reconnectDelayMs * 2, RECONNECT_MAX_MS);
      },
    });
  }

  private onMessage(header: WireLiveHeader, frames: ChunkFrame[]): void {
    switch (header.type) {
      case 'wanted':
        this.deps.live.wanted(header.hashes);
        return;
      case 'hello': {
        const { state } = this.deps;
        const epochChanged = header.epoch && state.epoch && header.epoch !== state.epoch;
        if (header.head !== state.cursor || epochChanged) this.deps.live.behind();
        return;
      }
      case 'entries': {
        const entries = this.expand(header.entries);
        if (entries) this.deps.live.entries({ ...header, entries }, frames);
        else {
          // An edit of a version this agent does not hold: the catch-up carries the lists whole.
          this.deps.log('a live batch edits chunk lists of versions not held here; reading it from the hub');
          this.deps.live.behind();
        }
        return;
      }
    }
  }

  /**
   * The entries with each chunk-list edit expanded against the version held here: the one
   * announced and not yet applied, else the base. Undefined when one cannot be.
   */
  private expand(
    entries: Extract<WireLiveHeader, { type: 'entries' }>['entries'],
  ): ManifestEntry[] | undefined {
    // More than any hub builds (see compactWithin): read whole from the catch-up, not expanded here.
    if (expansionOf(entries.map((e) => e.content)) > MAX_EXPANDED_CHUNKS) return undefined;
    const out: ManifestEntry[] = [];
    for (const entry of entries) {
      const held = listsOf(
        this.announced.get(entry.path),
        this.pending.get(entry.path)?.content,
        this.deps.state.base(entry.path)?.content,
      );
      const content = expandContent(entry.content, held);
      if (!content) return undefined;
      out.push({ ...entry, content });
    }
    for (const entry of out) {
      if (entry.content.kind !== 'file' || entry.content.chunks.length < EDIT_MIN_CHUNKS) continue;
      this.announced.delete(entry.path);
      this.announced.set(entry.path, entry.content);
      if (this.announced.size > ANNOUNCED_KEPT) this.announced.delete(this.announced.keys().next().value!);
    }
    return out;
  }

  /** Closes the live socket for good. */
  close(): void {
    this.stopped = true;
    this.socket?.close();
  }
}
