/**
 * Each workspace's live file count and bytes, kept in its `workspaces` row by triggers on
 * `entries`, so that every write to the manifest (a commit, a hub commit, an expiry, whatever code
 * path makes it) keeps them right, and reading them (the dashboard asks every second) costs one
 * row, not a scan of the manifest: a scan of 100,000 entries held the hub's only thread for
 * hundreds of milliseconds.
 */
import type { Database } from 'bun:sqlite';

const TRIGGERS = `
CREATE TRIGGER IF NOT EXISTS entries_totals_insert AFTER INSERT ON entries WHEN NEW.live = 1
BEGIN
  UPDATE workspaces SET live_files = live_files + 1, live_bytes = live_bytes + NEW.bytes
  WHERE name = NEW.workspace;
END;
CREATE TRIGGER IF NOT EXISTS entries_totals_update AFTER UPDATE OF live, bytes ON entries
WHEN OLD.live <> NEW.live OR OLD.bytes <> NEW.bytes
BEGIN
  UPDATE workspaces SET live_files = live_files + NEW.live - OLD.live,
    live_bytes = live_bytes + NEW.live * NEW.bytes - OLD.live * OLD.bytes
  WHERE name = NEW.workspace;
END;
CREATE TRIGGER IF NOT EXISTS entries_totals_delete AFTER DELETE ON entries WHEN OLD.live = 1
BEGIN
  UPDATE workspaces SET live_files = live_files - 1, live_bytes = live_bytes - OLD.bytes
  WHERE name = OLD.workspace;
END;
`;

/**
 * Adds the total columns and their triggers when missing, counting the totals once from the
 * manifest for a database made before they were kept; one transaction, so no write falls between
 * the count and the first trigger.
 */
export function keepWorkspaceTotals(db: Database): void {
  const columns = db.query('PRAGMA table_info(workspaces)').all() as Array<{ name: string }>;
  const missing = !columns.some((c) => c.name === 'live_files');
  db.transaction(() => {
    if (missing) {
      db.exec(`ALTER TABLE workspaces ADD COLUMN live_files INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE workspaces ADD COLUMN live_bytes INTEGER NOT NULL DEFAULT 0;
        UPDATE workspaces SET
          live_files = (SELECT COUNT(*) FROM entries e WHERE e.workspace = workspaces.name AND e.live = 1),
          live_bytes = (SELECT COALESCE(SUM(bytes), 0) FROM entries e WHERE e.workspace = workspaces.name AND e.live = 1);`);
    }
    db.exec(TRIGGERS);
  }).immediate();
}
