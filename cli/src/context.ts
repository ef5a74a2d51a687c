// What every command gets: the environment (never read elsewhere), an API client for `--server`, and the
// shared flag definitions.
import type { Command } from 'commander';
import { ApiClient } from './api-client.js';
import { jsonOption } from './output.js';

export interface Ctx {
  env: NodeJS.ProcessEnv;
  api(opts: { server?: string }): ApiClient;
}

export function makeCtx(env: NodeJS.ProcessEnv): Ctx {
  return { env, api: (opts) => new ApiClient(env, opts.server) };
}

/** `--server` on a command (the URL also comes from CPUB_SERVER, then the saved config). */
export function withServer(cmd: Command): Command {
  return cmd.option('--server <url>', 'control plane URL [CPUB_SERVER, then the one saved at login]');
}

/** `--server` and `--json`, for list and get commands. */
export function withServerJson(cmd: Command): Command {
  return withServer(cmd).addOption(jsonOption());
}

/** `--help` text with examples under it. */
export function examples(cmd: Command, lines: string[]): Command {
  return cmd.addHelpText('after', `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`);
}

export const enc = encodeURIComponent;
