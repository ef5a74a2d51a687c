// `cpub schedules list | add | rm | pause | resume`: run a function on a schedule (each tick is an async call).
import type { Command } from 'commander';
import type { ScheduleView } from '../../../common/api-types.js';
import { enc, examples, withServer, withServerJson, type Ctx } from '../context.js';
import { CliError, color, printJson, printTable } from '../output.js';

function parsePayload(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new CliError('bad --payload', `--payload is JSON (for example '{"report":"daily"}'); got ${JSON.stringify(text)}`, 2);
  }
}

function printSchedules(list: ScheduleView[]): void {
  printTable(
    list.map((s) => ({ ...s, when: s.timezone === 'UTC' ? s.cron : `${s.cron} (${s.timezone})`, next: s.paused ? 'paused' : (s.nextRunAt ?? 'never'), last: s.lastRunAt ?? '—', counts: `${s.fired}/${s.skipped}` })),
    [
      ['id', 'ID'],
      ['when', 'SCHEDULE'],
      ['next', 'NEXT RUN'],
      ['last', 'LAST RUN'],
      ['counts', 'FIRED/SKIPPED'],
      ['overlap', 'OVERLAP'],
    ],
  );
}

export function schedulesCommands(program: Command, ctx: Ctx): void {
  const schedules = program
    .command('schedules')
    .description('run a function on a schedule: standard five-field cron (minute hour day-of-month month day-of-week), @hourly/@daily/…, or @every 30s; each tick is an async call, so retries and dead letters apply');

  examples(withServerJson(schedules.command('list <fn>').description('the function’s schedules and their next run times')), ['cpub schedules list report']).action(async (ref: string, opts) => {
    const r = await ctx.api(opts).request<{ schedules: ScheduleView[] }>('GET', `/api/functions/${enc(ref)}/schedules`);
    if (opts.json) return printJson(r);
    if (!r.schedules.length) return console.error(color.dim('(no schedules)', process.stderr));
    printSchedules(r.schedules);
  });

  examples(
    withServerJson(schedules.command('add <fn> <cron>').description('add a schedule (quote the cron: "0 2 * * *")'))
      .option('--timezone <zone>', 'IANA time zone the cron is read in', 'UTC')
      .option('--payload <json>', 'JSON body of each call')
      .option('--overlap <mode>', 'skip: do not fire while the previous call is queued or running; queue: fire anyway', 'skip')
      .option('--catch-up <mode>', 'ticks missed while the server was down: none, or last (fire the latest once)', 'none')
      .option('--paused', 'add it paused'),
    ['cpub schedules add report "0 2 * * *" --timezone Europe/Paris', "cpub schedules add ping '@every 30s' --payload '{\"check\":true}'"],
  ).action(async (ref: string, cron: string, opts) => {
    const body = { cron, timezone: opts.timezone, payload: parsePayload(opts.payload), overlap: opts.overlap, catchUp: opts.catchUp, paused: Boolean(opts.paused) };
    const r = await ctx.api(opts).request<{ schedule: ScheduleView }>('POST', `/api/functions/${enc(ref)}/schedules`, body);
    if (opts.json) return printJson(r);
    const s = r.schedule;
    console.log(s.id);
    process.stderr.write(color.dim(s.paused ? 'added, paused\n' : `next runs: ${s.nextRuns.join(', ')}\n`));
  });

  examples(withServer(schedules.command('rm <fn> <id>').description('delete a schedule (calls it queued already still run)')), ['cpub schedules rm report 0193a6…']).action(async (ref: string, id: string, opts) => {
    await ctx.api(opts).request('DELETE', `/api/functions/${enc(ref)}/schedules/${enc(id)}`);
    console.log(`deleted ${id}`);
  });

  for (const [name, paused, what] of [
    ['pause', true, 'stop firing a schedule until it is resumed'],
    ['resume', false, 'fire a paused schedule again, from its next tick (ticks missed while paused are not fired)'],
  ] as const) {
    examples(withServerJson(schedules.command(`${name} <fn> <id>`).description(what)), [`cpub schedules ${name} report 0193a6…`]).action(async (ref: string, id: string, opts) => {
      const r = await ctx.api(opts).request<{ schedule: ScheduleView }>('PATCH', `/api/functions/${enc(ref)}/schedules/${enc(id)}`, { paused });
      if (opts.json) return printJson(r);
      console.log(paused ? `paused ${id}` : `resumed ${id}; next run ${r.schedule.nextRunAt ?? 'never'}`);
    });
  }
}
