// `cpub canary status | list | start | promote | abort`: a version gets a share of live's calls for a window, is
// compared with the active version, and is promoted when it holds or rolled back on its own when it is worse.
// (`cpub deploy --canary 10% --for 10m` starts one with the version it deploys.)
import type { Command } from 'commander';
import type { CanaryView } from '../../../common/api-types.js';
import { enc, examples, withServer, withServerJson, type Ctx } from '../context.js';
import { CliError, color, printFields, printJson, printTable } from '../output.js';
import { parseDuration } from './functions.js';

/** `10%` or `10` → 10. */
export function parseShare(text: string, field: string): number {
  const m = /^(\d{1,2})%?$/.exec(text.trim());
  if (!m || Number(m[1]) < 1) throw new CliError('bad share', `${field} is a percent of calls, 1–99 (for example 10%); got ${JSON.stringify(text)}`, 2);
  return Number(m[1]);
}

const minutes = (ms: number) => (ms % 60_000 === 0 ? `${ms / 60_000}m` : `${Math.round(ms / 1000)}s`);
const numbers = (n: { version: number; calls: number; errors: number; p95Ms: number | null }) =>
  `v${n.version}: ${n.calls} calls, ${n.errors} failed (${n.calls ? ((n.errors / n.calls) * 100).toFixed(1) : '0.0'}%)${n.p95Ms === null ? '' : `, p95 ${Math.round(n.p95Ms)} ms`}`;
const stateText = (c: CanaryView) =>
  ({ building: color.yellow('building'), running: color.yellow('running'), promoted: color.green('promoted'), rolled_back: color.red('rolled back'), aborted: 'aborted', failed: color.red('build failed') })[c.state];

/** One canary, as `status` and a deploy with --canary show it. */
export function printCanary(name: string, c: CanaryView): void {
  printFields([
    ['canary', `${name} v${c.version} against v${c.baseline}`],
    ['state', stateText(c)],
    ['share', `${c.percent}% of live's calls`],
    ['window', c.endsAt ? `${minutes(c.windowMs)}, until ${c.endsAt}` : minutes(c.windowMs)],
    ...(c.seen ? [['seen', `${numbers(c.seen.canary)}; ${numbers(c.seen.baseline)}`] as [string, string]] : []),
    ...(c.reason ? [['why', c.reason] as [string, string]] : []),
  ]);
}

export function canaryCommands(program: Command, ctx: Ctx): void {
  const canary = program
    .command('canary')
    .description('give a new version a share of live’s calls for a window: promoted when it holds, rolled back on its own when its error rate or p95 is worse than the active version’s (start one with cpub deploy --canary 10% --for 10m)');

  const list = async (opts: object, ref: string) => (await ctx.api(opts).request<{ canaries: CanaryView[] }>('GET', `/api/functions/${enc(ref)}/canaries`)).canaries;

  examples(withServerJson(canary.command('status <fn>').description('the canary under way (or the last one): its share, window, the numbers so far, and why it ended')), ['cpub canary status api']).action(async (ref: string, opts) => {
    const [c] = await list(opts, ref);
    if (opts.json) return printJson({ canary: c ?? null });
    if (!c) return console.log(`${ref} has had no canary (start one with cpub deploy --canary 10% --for 10m)`);
    printCanary(ref, c);
  });

  examples(withServerJson(canary.command('list <fn>').description('the function’s canaries, newest first, and how each ended')), ['cpub canary list api']).action(async (ref: string, opts) => {
    const all = await list(opts, ref);
    if (opts.json) return printJson({ canaries: all });
    printTable(
      all.map((c) => ({ v: `v${c.version}`, against: `v${c.baseline}`, share: `${c.percent}%`, window: minutes(c.windowMs), state: stateText(c), at: c.createdAt, why: c.reason ?? '' })),
      [
        ['v', 'VERSION'],
        ['against', 'AGAINST'],
        ['share', 'SHARE'],
        ['window', 'WINDOW'],
        ['state', 'STATE'],
        ['at', 'STARTED'],
        ['why', 'WHY'],
      ],
    );
  });

  examples(
    withServerJson(canary.command('start <fn> <version>').description('start a canary of a ready version that is not the active one'))
      .option('--share <percent>', 'its share of live’s calls', '10%')
      .option('--for <duration>', 'its window, 10s–24h', '10m'),
    ['cpub canary start api 4 --share 5% --for 30m'],
  ).action(async (ref: string, version: string, opts) => {
    const v = Number(version.replace(/^v/, ''));
    if (!Number.isInteger(v) || v < 1) throw new CliError('bad version', `a version is a number (for example 3); got ${JSON.stringify(version)}`, 2);
    const r = await ctx.api(opts).request<{ canary: CanaryView }>('POST', `/api/functions/${enc(ref)}/canaries`, { version: v, percent: parseShare(opts.share, '--share'), windowMs: parseDuration(opts.for, '--for') });
    if (opts.json) return printJson(r);
    printCanary(ref, r.canary);
  });

  for (const [verb, what] of [
    ['promote', 'make the canary’s version the active one now'],
    ['abort', 'end the canary now: live returns to the active version'],
  ] as const) {
    examples(withServer(canary.command(`${verb} <fn>`).description(what)), [`cpub canary ${verb} api`]).action(async (ref: string, opts) => {
      const r = await ctx.api(opts).request<{ canary: CanaryView }>('POST', `/api/functions/${enc(ref)}/canaries/${verb}`);
      console.log(`${ref}: canary of v${r.canary.version} ${verb === 'promote' ? `promoted; v${r.canary.version} is active` : `aborted; live is v${r.canary.baseline} again`}`);
    });
  }
}
