// Shared by both command lines: each setting becomes a `--flag <value>` option whose help names its
// environment variable, and the parsed options become the flags parseSettings takes.
import { Option, type Command } from 'commander';
import type { Setting } from './settings.js';

export function addSettingOptions<S extends Record<string, Setting>>(cmd: Command, settings: S, only?: (keyof S)[]): Command {
  for (const key of only ?? Object.keys(settings)) {
    const s = settings[key]!;
    cmd.addOption(new Option(`--${s.flag} <value>`, `${s.help} [${s.env}]`));
  }
  return cmd;
}

/** Commander names each option after its flag in camelCase, which is the setting's key. */
export function flagsFrom(opts: Record<string, unknown>, settings: Record<string, Setting>): Record<string, string | undefined> {
  const flags: Record<string, string | undefined> = {};
  for (const key of Object.keys(settings)) if (opts[key] !== undefined) flags[key] = String(opts[key]);
  return flags;
}
