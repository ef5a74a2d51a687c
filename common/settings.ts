// Shared by the control plane and the agent: parse a table of settings (env var + flag + zod schema) once,
// reporting every bad value with the variable and flag that carry it.
import { z } from 'zod';
import { DURATION, DURATION_MESSAGE, durationMs } from './duration.js';

export interface Setting {
  env: string;
  flag: string;
  help: string;
  schema: z.ZodType;
  /** The flag may be given more than once: its values reach the schema joined by commas. */
  repeatable?: boolean;
}

export type Parsed<S extends Record<string, Setting>> = Readonly<{ [K in keyof S]: z.output<S[K]['schema']> }>;

export class SettingsError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/** Flags win over environment variables; an empty variable counts as unset. Never reads process.env itself. */
export function parseSettings<S extends Record<string, Setting>>(
  settings: S,
  env: Record<string, string | undefined>,
  flags: Record<string, string | undefined>,
  check?: (values: Record<string, unknown>) => string[],
): Parsed<S> {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, s] of Object.entries(settings)) {
    const raw = flags[key] ?? (env[s.env] === '' ? undefined : env[s.env]);
    const parsed = s.schema.safeParse(raw);
    if (parsed.success) out[key] = parsed.data;
    else problems.push(`${s.env} (--${s.flag}): ${parsed.error.issues.map((i) => i.message).join('; ')}`);
  }
  if (problems.length === 0 && check) problems.push(...check(out));
  if (problems.length > 0) throw new SettingsError(problems);
  return Object.freeze(out) as Parsed<S>;
}

/** A duration setting (`300s`, `5m`, `24h`, `30d`, `60000ms`; a bare number is milliseconds), in milliseconds. */
export const duration = z
  .string()
  .regex(DURATION, DURATION_MESSAGE)
  .transform((v) => durationMs(v)!);
