#!/usr/bin/env bun
/**
 * The `warmsync` command line: dispatches to one module per sub-command. Each sub-command module is
 * the composition root of its entry point.
 */
import type { Command } from './command.ts';
import { UserError } from './user-error.ts';

const commands: Record<string, () => Promise<Command>> = {
  serve: async () => (await import('./serve.ts')).serveCommand,
  agent: async () => (await import('./agent.ts')).agentCommand,
  status: async () => (await import('./status.ts')).statusCommand,
  token: async () => (await import('./token.ts')).tokenCommand,
  demo: async () => (await import('./demo.ts')).demoCommand,
  roi: async () => (await import('./roi.ts')).roiCommand,
  prewarm: async () => (await import('./prewarm.ts')).prewarmCommand,
  flush: async () => (await import('./flush.ts')).flushCommand,
  pause: async () => (await import('./pause.ts')).pauseCommand,
  resume: async () => (await import('./pause.ts')).resumeCommand,
  revert: async () => (await import('./revert.ts')).revertCommand,
  doctor: async () => (await import('./doctor.ts')).doctorCommand,
  conflicts: async () => (await import('./conflicts.ts')).conflictsCommand,
  resolve: async () => (await import('./resolve.ts')).resolveCommand,
  history: async () => (await import('./history.ts')).historyCommand,
  restore: async () => (await import('./restore.ts')).restoreCommand,
};

async function topLevelHelp(): Promise<string> {
  const names = Object.keys(commands).sort();
  return [
    'warmsync: local-first workspace sync for remote development',
    '',
    'Usage: warmsync <command> [options]',
    '',
    'Commands:',
    ...(await Promise.all(
      names.map(async (name) => `  ${name.padEnd(9)} ${(await commands[name]!()).summary}`),
    )),
    '',
    "Run 'warmsync <command> --help' for the options of one command.",
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(await topLevelHelp());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version') {
    const pkg = (await import('../../package.json', { with: { type: 'json' } })).default;
    console.log(pkg.version);
    return 0;
  }
  const load = commands[name];
  if (!load) throw new UserError(`unknown command '${name}'; run 'warmsync --help' for the list`, 2);
  return (await load()).run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof UserError) {
      console.error(`warmsync: ${error.message}`);
      process.exitCode = error.exitCode;
      return;
    }
    console.error(error);
    process.exitCode = 1;
  },
);
