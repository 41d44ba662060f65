/** `warmsync flush [DIR]`: waits until the agent on DIR and the hub have exchanged everything made so far. */
import { z } from 'zod';
import { parseFlags, validateFlags } from './args.ts';
import type { Command } from './command.ts';
import { ask, expectAnswer, LOCATE_FLAGS, LOCATE_HELP, locateAgent } from './control-client.ts';
import { UserError } from './user-error.ts';

const HELP = `Usage: warmsync flush [DIR] [--timeout S] [--state DIR]

Exits 0 once every local change made in DIR (default: the current folder) before the call is on
the hub and every hub change accepted before the call is written in DIR, by the agent running
on DIR. Exits 1 with the reason when the time is up (the hub cannot be reached...), when the
agent is paused or halted, or when a change stays unsynced (each path is named with its reason).

Options:
  --timeout S         give up after S seconds (default 60)
${LOCATE_HELP}`;

const flagsSchema = z.object({ timeout: z.coerce.number().positive().max(86_400) });

export const flushCommand: Command = {
  summary: 'wait until a running agent and the hub have exchanged every change made so far',
  async run(args) {
    const { values, positionals } = parseFlags(
      args,
      { ...LOCATE_FLAGS, timeout: { type: 'string', default: '60' }, help: { type: 'boolean', short: 'h' } },
      true,
    );
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    if (positionals.length > 1) throw new UserError('expected at most one folder: warmsync flush [DIR]', 2);
    const { timeout } = validateFlags(flagsSchema, values);
    const located = await locateAgent(positionals[0], values);
    const timeoutMs = Math.round(timeout * 1000);
    // The agent times out first and says why; this wait only covers an agent that hangs.
    expectAnswer(await ask(located.socket, { type: 'flush', timeoutMs }, timeoutMs + 10_000), 'flushed');
    console.log(`${located.dir} and the hub are in sync`);
    return 0;
  },
};
