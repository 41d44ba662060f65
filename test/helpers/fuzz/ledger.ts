/**
 * What a fuzz run sent and what came back: requests and frames per endpoint, statuses, and every
 * broken property with enough to replay it (the seed, the endpoint, the case's index and damage).
 */
import { hubErrorSchema } from '../../../src/core/protocol.ts';

export interface Sent {
  endpoint: string;
  index: number;
  how: string;
}

interface Tally {
  requests: number;
  frames: number;
  statuses: Map<number, number>;
}

/** Error codes the hub uses in its refusals (app.ts, live.ts, snapshots.ts). */
const ERROR_CODES = new Set(['bad-request', 'too-large', 'busy', 'forbidden', 'unauthorised', 'not-found']);

/**
 * The properties a failure breaks: `reply`, the status and shape of an answer; `readable`, an
 * answer or notification that agents could not read; `live`, the hub's handling of live messages;
 * `store`, what the store holds after the fuzz.
 */
export type Property = 'reply' | 'readable' | 'live' | 'store';

export class Ledger {
  private readonly tallies = new Map<string, Tally>();
  /** How deep the fuzz reached: counts of outcomes beyond the status (push results...). */
  private readonly notes = new Map<string, number>();
  readonly failures: Record<Property, string[]> = { reply: [], readable: [], live: [], store: [] };

  count(endpoint: string, frames: number, status?: number): void {
    let tally = this.tallies.get(endpoint);
    if (!tally) {
      tally = { requests: 0, frames: 0, statuses: new Map() };
      this.tallies.set(endpoint, tally);
    }
    tally.requests += 1;
    tally.frames += frames;
    if (status !== undefined) tally.statuses.set(status, (tally.statuses.get(status) ?? 0) + 1);
  }

  note(what: string, n = 1): void {
    this.notes.set(what, (this.notes.get(what) ?? 0) + n);
  }

  /** Records a broken property with what replays it (the seed is printed with the report). */
  fail(property: Property, sent: Sent, what: string): void {
    const line = `${sent.endpoint} #${sent.index} (${sent.how.slice(0, 200)}): ${what.slice(0, 600)}`;
    if (process.env.FUZZ_PROGRESS) console.log(`FAIL ${property}: ${line}`);
    if (this.failures[property].length < 50) this.failures[property].push(line);
  }

  /**
   * Checks a reply's status and, for a refusal, its body: never 5xx, and every 4xx is
   * `{error, message}` with a known code. Returns the body text.
   */
  async reply(sent: Sent, frames: number, response: Response): Promise<string> {
    const text = await response.text();
    this.count(sent.endpoint, frames, response.status);
    if (response.status >= 500) this.fail('reply', sent, `answered ${response.status}: ${text}`);
    else if (response.status >= 400) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        this.fail('reply', sent, `refusal ${response.status} is not JSON: ${text.slice(0, 100)}`);
        return text;
      }
      const shape = hubErrorSchema.safeParse(parsed);
      if (!shape.success)
        this.fail('reply', sent, `refusal ${response.status} is not {error, message}: ${text}`);
      else if (!ERROR_CODES.has(shape.data.error))
        this.fail('reply', sent, `refusal ${response.status} has an unknown code: ${shape.data.error}`);
    }
    return text;
  }

  /** The endpoints that were sent anything. */
  endpoints(): string[] {
    return [...this.tallies.keys()].sort();
  }

  totalFrames(): number {
    let total = 0;
    for (const t of this.tallies.values()) total += t.frames;
    return total;
  }

  report(): string {
    const rows = [...this.tallies.entries()].sort(([a], [b]) => a.localeCompare(b));
    const lines = rows.map(([endpoint, t]) => {
      const statuses = [...t.statuses.entries()]
        .sort(([a], [b]) => a - b)
        .map(([s, n]) => `${s}:${n}`)
        .join(' ');
      return `  ${endpoint.padEnd(34)} ${String(t.requests).padStart(7)} requests ${String(t.frames).padStart(8)} frames  ${statuses}`;
    });
    const notes = [...this.notes.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([what, n]) => `${what}: ${n}`)
      .join(', ');
    return [...lines, `  total frames: ${this.totalFrames()}`, `  ${notes}`].join('\n');
  }
}
