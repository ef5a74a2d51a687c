// Where the CLI keeps the server URL and tokens: $XDG_CONFIG_HOME/containerpub/config.json, mode 0600,
// written atomically (temp file + rename).
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

export interface CliConfig {
  server?: string;
  accessToken?: string;
  refreshToken?: string;
  email?: string;
  /** The team commands work in (`cpub team switch`); absent: the personal team. */
  team?: string;
}

export function configPath(env: NodeJS.ProcessEnv): string {
  return join(env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config'), 'containerpub', 'config.json');
}

export function readConfig(env: NodeJS.ProcessEnv): CliConfig {
  try {
    return JSON.parse(readFileSync(configPath(env), 'utf8')) as CliConfig;
  } catch {
    return {};
  }
}

export function writeConfig(env: NodeJS.ProcessEnv, config: CliConfig): void {
  const path = configPath(env);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(config, null, 2) + '\n', { mode: 0o600 });
  renameSync(tmp, path);
}
