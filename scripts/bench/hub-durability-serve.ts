#!/usr/bin/env bun
/**
 * A hub on embedded storage for the hub-durability bench, with the flushes the bench names left
 * out (`serve` has no such switch: it always runs durable). Prints `listening on URL`, stops on
 * SIGTERM.
 *
 * Usage: bun scripts/bench/hub-durability-serve.ts DATA_DIR durable|sqlite-normal|unflushed
 */
import { startEmbeddedServer } from '../../src/server/start.ts';

const [dataDir, mode] = process.argv.slice(2);
const UNFLUSHED = {
  durable: {},
  'sqlite-normal': { sqlite: true },
  unflushed: { sqlite: true, chunks: true },
} as const;
if (!dataDir || !(mode && mode in UNFLUSHED)) {
  console.error(`usage: hub-durability-serve.ts DATA_DIR ${Object.keys(UNFLUSHED).join('|')}`);
  process.exit(2);
}
const hub = startEmbeddedServer({
  dataDir,
  port: 0,
  gcIntervalMs: 0,
  unflushed: UNFLUSHED[mode as keyof typeof UNFLUSHED],
});
console.log(`listening on ${hub.url}`);
process.once('SIGTERM', () => {
  hub.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
