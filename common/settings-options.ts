// Shared by both command lines: each setting becomes a `--flag <value>` option whose help names its
// environment variable, and the parsed options become the flags parseSettings takes.
import { Option, type Command } from 'commander';
import type { Setting } from './settings.js';

export function addSettingOptions<S extends Record<string, Setting>>(cmd: Command, settings: S, only?: (keyof S)[]): Command {
  for (const key of only ?? Object.keys(settings)) {
    const s = settings[key]!;
    const option = new Option(`--${s.flag} <value>`, `${s.help} [${s.env}]${s.repeatable ? ' (repeatable)' : ''}`);
    if (s.repeatable) option.argParser((v: string, previous: string | undefined) => (previous === undefined ? v : `${previous},${v}`));
    cmd.addOption(option);
  }
  return cmd;
}

/** Commander names each option after its flag in camelCase (`--runtime` → `runtime`); the flags are keyed by setting. */
export function flagsFrom(opts: Record<string, unknown>, settings: Record<string, Setting>): Record<string, string | undefined> {
  const flags: Record<string, string | undefined> = {};
  for (const [key, s] of Object.entries(settings)) {
    const value = opts[s.flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())];
    if (value !== undefined) flags[key] = String(value);
  }
  return flags;
}
