/**
 * Filesystem events for a whole tree. Bun's recursive `fs.watch` on Linux has gaps (folders
 * created before their watch is added, watch limits reported as error events); every gap is
 * reported as "missed", and the agent answers it with a rescan. Where no events can arrive
 * (network and virtual filesystems), the watcher declines and the agent polls.
 */
import { type FSWatcher, watch } from 'node:fs';
import { needsPolling } from './mounts.ts';

/** How long after a watcher error the watch is started again. */
export const WATCH_RESTART_MS = 1000;

export type WatchEventKind = 'rename' | 'change';

export interface TreeWatcherHandlers {
  /** Polling was asked for: do not watch at all. */
  poll: boolean;
  log: (line: string) => void;
  /**
   * A path (relative to the root, as the platform names it) had an event: `rename` when an entry
   * appeared or went under that name, `change` when the file was changed in place (its bytes or
   * its metadata).
   */
  onPath: (name: string, kind: WatchEventKind) => void;
  /** Events may have been lost; rescan after `delayMs`. */
  onMissed: (delayMs?: number) => void;
}

export class TreeWatcher {
  private watcher: FSWatcher | undefined;
  private closed = false;
  private restartTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly root: string,
    private readonly handlers: TreeWatcherHandlers,
  ) {}

  /** Starts watching; resolves false when events cannot be had here (the caller then polls). */
  async start(): Promise<boolean> {
    if (this.handlers.poll) {
      this.handlers.log('watching by polling (no filesystem events requested)');
      return false;
    }
    const mount = await needsPolling(this.root);
    if (mount.poll) {
      this.handlers.log(
        `${this.root} is on ${mount.type}, which delivers no change events here; polling instead`,
      );
      return false;
    }
    return this.watch();
  }

  close(): void {
    this.closed = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.watcher?.close();
  }

  private watch(): boolean {
    if (this.closed) return false;
    try {
      this.watcher = watch(this.root, { recursive: true }, (event, filename) => {
        // No name: the platform could not say what changed, so everything may have.
        if (filename === null || filename === undefined) this.handlers.onMissed();
        // Anything but a rename counts as a change: the safe reading of an unknown kind.
        else this.handlers.onPath(String(filename), event === 'rename' ? 'rename' : 'change');
      });
      this.watcher.on('error', (error) => {
        // Watch limits and vanished folders surface here; a rescan repairs anything missed. One
        // rescan at once, for what the error lost, and one once the watch is back: a change made
        // while no watch was in place has no event, and only a scan after the restart sees it.
        this.handlers.log(
          `watcher error (${(error as Error).message}); rescanning and restarting the watcher`,
        );
        this.watcher?.close();
        this.handlers.onMissed(100);
        this.restartTimer = setTimeout(() => {
          this.restartTimer = undefined;
          if (this.closed) return;
          this.watch();
          this.handlers.onMissed();
        }, WATCH_RESTART_MS);
      });
      return true;
    } catch (error) {
      this.handlers.log(`no filesystem events here (${(error as Error).message}); falling back to polling`);
      return false;
    }
  }
}
