/** `warmsync pause [DIR]` and `warmsync resume [DIR] [--allow-deletes]`: stop and restart a running agent's syncing. */
import { parseFlags } from './args.ts';
import type { Command } from './command.ts';
import { ask, expectAnswer, LOCATE_FLAGS, LOCATE_HELP, locateAgent } from './control-client.ts';
import { UserError } from './user-error.ts';

const PAUSE_HELP = `Usage: warmsync pause [DIR] [--state DIR]

Stops the agent running on DIR (default: the current folder) from pushing local changes and
applying the hub's; it keeps noting what changes. 'warmsync resume DIR' catches up.

Options:
${LOCATE_HELP}`;

const RESUME_HELP = `Usage: warmsync resume [DIR] [--allow-deletes] [--state DIR]

Lets a paused agent on DIR (default: the current folder) sync again: it catches up with the hub
and pushes what changed meanwhile. Answers once that first round is done.

Options:
  --allow-deletes     also let go the deletions the safety halt holds (a cycle that would
                      delete the whole folder, or more than half of over 100 files)
${LOCATE_HELP}`;

export const pauseCommand: Command = {
  summary: 'stop a running agent from pushing and applying changes',
  async run(args) {
    const { values, positionals } = parseFlags(
      args,
      { ...LOCATE_FLAGS, help: { type: 'boolean', short: 'h' } },
      true,
    );
    if (values.help) {
      console.log(PAUSE_HELP);
      return 0;
    }
    if (positionals.length > 1) throw new UserError('expected at most one folder: warmsync pause [DIR]', 2);
    const located = await locateAgent(positionals[0], values);
    expectAnswer(await ask(located.socket, { type: 'pause' }, 60_000), 'paused');
    console.log(`paused the agent on ${located.dir}`);
    return 0;
  },
};

export const resumeCommand: Command = {
  summary: 'let a paused or halted agent sync again',
  async run(args) {
    const { values, positionals } = parseFlags(
      args,
      {
        ...LOCATE_FLAGS,
        'allow-deletes': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h' },
      },
      true,
    );
    if (values.help) {
      console.log(RESUME_HELP);
      return 0;
    }
    if (positionals.length > 1) throw new UserError('expected at most one folder: warmsync resume [DIR]', 2);
    const located = await locateAgent(positionals[0], values);
    const allowDeletes = values['allow-deletes'] === true;
    const answer = expectAnswer(
      await ask(located.socket, { type: 'resume', allowDeletes }, 10 * 60_000),
      'resumed',
    );
    const released =
      allowDeletes && answer.deletesAllowed > 0 ? `; let ${answer.deletesAllowed} held deletion(s) go` : '';
    console.log(`resumed the agent on ${located.dir}${released}`);
    return 0;
  },
};
