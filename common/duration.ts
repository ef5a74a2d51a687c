// Durations as settings and flags write them (`300s`, `5m`, `24h`, `30d`, `60000ms`; a bare number is milliseconds):
// the one parser of the server's settings (settings.ts) and the CLI's flags, without a schema library (the CLI loads
// this on every run).

/** The form of a duration, and the message that says so. */
export const DURATION = /^(\d+)(ms|s|m|h|d)?$/;
export const DURATION_MESSAGE = 'must be a duration like 300s, 5m, 24h, 30d or 60000ms';

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** The duration in milliseconds, or undefined when `text` is not one. */
export function durationMs(text: string): number | undefined {
  const m = DURATION.exec(text);
  return m ? Number(m[1]) * UNIT_MS[(m[2] ?? 'ms') as keyof typeof UNIT_MS] : undefined;
}
