// When a schedule's ticks fall: standard five-field cron (and its nicknames, @hourly, @daily, …) in an IANA time
// zone, parsed and stepped by croner; or `@every <interval>` (30s, 5m, 1h30m), ticks counted from the schedule's
// anchor (its creation, or the last change of its timing), so they do not drift with the clock of the replica.
import { Cron } from 'croner';

export type Plan = { kind: 'cron'; cron: Cron } | { kind: 'every'; everyMs: number };

const NICKNAMES = new Set(['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly']);
const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const MIN_EVERY_MS = 1000;
const MAX_EVERY_MS = 400 * 86_400_000;

/** The plan of a schedule; throws with a sentence saying what is wrong. */
export function planOf(expr: string, timezone: string): Plan {
  try {
    new Intl.DateTimeFormat('en', { timeZone: timezone });
  } catch {
    throw new Error(`unknown time zone ${JSON.stringify(timezone)}: an IANA name such as UTC or Europe/Paris`);
  }
  const text = expr.trim();
  if (text.startsWith('@every')) {
    const m = /^@every\s+((?:\d+[smhd])+)$/.exec(text);
    if (!m) throw new Error('@every takes an interval such as 30s, 5m, 1h30m or 1d');
    let everyMs = 0;
    for (const [, n, unit] of m[1]!.matchAll(/(\d+)([smhd])/g)) everyMs += Number(n) * UNITS[unit!]!;
    if (everyMs < MIN_EVERY_MS || everyMs > MAX_EVERY_MS) throw new Error('@every is between 1s and 400d');
    return { kind: 'every', everyMs };
  }
  if (text.startsWith('@') && !NICKNAMES.has(text)) throw new Error(`unknown nickname ${text}: one of ${[...NICKNAMES].join(', ')}, or @every <interval>`);
  if (!text.startsWith('@') && text.split(/\s+/).length !== 5) throw new Error('a cron expression has five fields: minute hour day-of-month month day-of-week (or @hourly, @daily, @every 30s, …)');
  let cron: Cron;
  try {
    cron = new Cron(text, { timezone, paused: true });
  } catch (err) {
    throw new Error(`not a cron expression: ${(err as Error).message.replace(/^CronPattern: /, '')}`);
  }
  if (cron.nextRun(new Date()) === null) throw new Error('the cron expression never fires');
  return { kind: 'cron', cron };
}

/** The first tick strictly after `after` (epoch ms); null when there is none. `anchor`: where @every counts from. */
export function nextTick(plan: Plan, after: number, anchor: number): number | null {
  if (plan.kind === 'every') {
    if (after < anchor) return anchor + plan.everyMs;
    return anchor + (Math.floor((after - anchor) / plan.everyMs) + 1) * plan.everyMs;
  }
  // croner steps by whole seconds: from the start of `after`'s second, the next run is strictly later.
  const next = plan.cron.nextRun(new Date(Math.floor(after / 1000) * 1000));
  return next ? next.getTime() : null;
}

/** The next `n` ticks after `after`. */
export function nextTicks(plan: Plan, after: number, anchor: number, n: number): number[] {
  const out: number[] = [];
  let t: number | null = after;
  while (out.length < n && (t = nextTick(plan, t, anchor)) !== null) out.push(t);
  return out;
}

/** The latest tick at or before `t` (null when none, or before `anchor` for @every). */
export function lastTickAtOrBefore(plan: Plan, t: number, anchor: number): number | null {
  if (plan.kind === 'every') return t < anchor + plan.everyMs ? null : anchor + Math.floor((t - anchor) / plan.everyMs) * plan.everyMs;
  // Ticks are whole seconds: strictly before the next second is at or before t.
  const prev = plan.cron.previousRuns(1, new Date(Math.floor(t / 1000) * 1000 + 1000))[0];
  return prev ? prev.getTime() : null;
}

/** How many ticks fall in (from, to], counted up to `cap`. */
export function ticksBetween(plan: Plan, from: number, to: number, anchor: number, cap = 10_000): number {
  if (plan.kind === 'every') return Math.min(cap, Math.max(0, Math.floor((to - anchor) / plan.everyMs) - Math.floor((from - anchor) / plan.everyMs)));
  let n = 0;
  for (let t = nextTick(plan, from, anchor); t !== null && t <= to && n < cap; t = nextTick(plan, t, anchor)) n++;
  return n;
}
