// `cpub`: the developer CLI. Wiring only: one function per command group (commands/), errors printed once
// as `error: <title> — <detail>` (exit 1; 2 for usage errors).
import { Command, CommanderError } from 'commander';
import { ApiError } from './api-client.js';
import { makeCtx } from './context.js';
import { CliError } from './output.js';
import { VERSION } from '../../common/version.js';
import { authCommands } from './commands/auth.js';
import { initCommand } from './commands/init.js';
import { checkCommand } from './commands/check.js';
import { deployCommands } from './commands/deploy.js';
import { functionCommands } from './commands/functions.js';
import { invokeCommand } from './commands/invoke.js';
import { observeCommands } from './commands/observe.js';
import { envCommands } from './commands/env.js';
import { keysCommands } from './commands/keys.js';
import { nodesCommand } from './commands/nodes.js';
import { dlqCommands } from './commands/dlq.js';
import { schedulesCommands } from './commands/schedules.js';
import { alertsCommands } from './commands/alerts.js';
import { aliasesCommands } from './commands/aliases.js';
import { canaryCommands } from './commands/canary.js';
import { teamCommands } from './commands/team.js';
import { tokenCommands } from './commands/tokens.js';

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const program = new Command('cpub')
    .description('ContainerPub CLI: deploy and run functions on your ContainerPub server.\nServer URL: --server, then CPUB_SERVER, then the one saved by `cpub login`. CPUB_TOKEN (an access token, a scoped token from `cpub token create`, or an API key) skips the login; CPUB_TEAM (a team handle) picks the team, as `cpub team switch` does.')
    .version(VERSION)
    .showHelpAfterError('(add --help for usage)')
    .exitOverride();
  // `cpub logs -f | head`: a reader that goes away ends the command quietly.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
  const ctx = makeCtx(env);
  for (const add of [authCommands, initCommand, checkCommand, deployCommands, functionCommands, invokeCommand, observeCommands, dlqCommands, schedulesCommands, aliasesCommands, canaryCommands, envCommands, keysCommands, teamCommands, tokenCommands, nodesCommand, alertsCommands]) add(program, ctx);
  // Subcommands report usage errors the same way.
  const all = (c: Command): Command[] => [c, ...c.commands.flatMap(all)];
  for (const c of all(program)) c.exitOverride().showHelpAfterError('(add --help for usage)');
  program.addHelpText('after', '\nStart with: cpub login --server URL, then cpub init hello && cd hello && cpub deploy\n');

  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here too (exit code 0).
      process.exit(err.exitCode === 0 ? 0 : 2);
    }
    if (err instanceof ApiError) {
      console.error(`error: ${err.title} — ${err.detail}`);
      process.exit(1);
    }
    if (err instanceof CliError) {
      console.error(`error: ${err.title} — ${err.detail}`);
      process.exit(err.exitCode);
    }
    // Anything else (a file that cannot be read, stdin closed early): still one line, no stack.
    console.error(`error: failed — ${(err as Error)?.message ?? String(err)}`);
    process.exit(1);
  }
}
