// `cpub logs | executions | execution | stats`: what a function did.
import type { Command } from 'commander';
import type { ApiClient } from '../api-client.js';
import { parseDuration } from './functions.js';
import { enc, examples, withServerJson, type Ctx } from '../context.js';
import { CliError, color, formatBytes, printFields, printJson, printTable, sparkline } from '../output.js';
import { readEvents } from '../sse.js';
import type { AsyncCallView, ExecutionList, ExecutionView, LogLine, LogLines, StatsBuckets, StatsSummary } from '../../../common/api-types.js';

const LEVEL_COLOR: Record<string, (s: string) => string> = { error: color.red, warn: color.yellow, debug: color.dim };

function printLine(l: LogLine): void {
  const level = (LEVEL_COLOR[l.level] ?? ((s: string) => s))(l.level.padEnd(5));
  console.log(`${color.dim(new Date(l.atMs).toISOString())} ${level} ${color.cyan(l.executionId.slice(0, 8))} ${l.message.replace(/\n$/, '')}`);
}

/** A queued call (cpub invoke --async): where it is, its attempts, and its answer. */
function printCall(c: AsyncCallView): void {
  printFields([
    ['id', c.id],
    ['status', c.status === 'succeeded' ? color.green(c.status) : c.status === 'failed' ? color.red(`${c.status} (a dead letter)`) : c.status],
    ['via', c.trigger],
    ['queued', c.createdAt],
    ['next attempt', c.nextAttemptAt],
    ['finished', c.finishedAt],
  ]);
  if (c.attempts.length) {
    console.log(color.bold('\nattempts:'));
    printTable(
      c.attempts.map((a, i) => ({ n: String(i + 1), ...a, executionId: a.executionId ?? '—', error: a.error ?? '', ms: String(a.durationMs) })),
      [
        ['n', '#'],
        ['executionId', 'EXECUTION'],
        ['status', 'STATUS'],
        ['httpStatus', 'HTTP'],
        ['ms', 'MS'],
        ['error', 'ERROR'],
      ],
    );
  }
  if (c.answer) {
    console.log(color.bold(`\nanswer (HTTP ${c.answer.statusCode}):`));
    process.stdout.write(Buffer.from(c.answer.body, c.answer.bodyEncoding === 'base64' ? 'base64' : 'utf8'));
    if (process.stdout.isTTY) process.stdout.write('\n');
  }
}

export function observeCommands(program: Command, ctx: Ctx): void {
  examples(
    withServerJson(program.command('logs <fn>').description('log lines of a function’s calls; -f follows them live'))
      .option('-f, --follow', 'keep printing new lines as calls happen')
      .option('--since <duration>', 'how far back (e.g. 10m, 1h, 7d)', '1h')
      .option('--limit <n>', 'lines at most (1–1000)', '200')
      .option('--execution <id>', 'only the lines of one call'),
    ['cpub logs hello', 'cpub logs hello -f', 'cpub logs hello --since 24h --limit 1000'],
  ).action(async (ref: string, opts) => {
    const api = ctx.api(opts);
    parseDuration(opts.since, '--since');
    if (opts.execution) {
      const found = await api.request<{ execution: ExecutionView } | { call: AsyncCallView }>('GET', `/api/executions/${enc(opts.execution)}`);
      if (!('execution' in found)) throw new CliError('a queued call', `${opts.execution} is a queued call: its attempts have the logs (cpub execution ${opts.execution} lists them)`, 2);
      const e = found.execution;
      const lines = (e.logs ?? []).map((l) => ({ ...l, executionId: e.id }));
      if (opts.json) return printJson({ lines });
      return lines.forEach(printLine);
    }
    const q = `since=${enc(opts.since)}&limit=${enc(opts.limit)}`;
    if (!opts.follow) {
      const { lines } = await api.request<LogLines>('GET', `/api/functions/${enc(ref)}/logs?${q}`);
      if (opts.json) return printJson({ lines });
      if (!lines.length) console.error(color.dim(`(no lines in the last ${opts.since})`, process.stderr));
      return lines.forEach(printLine);
    }
    const res = await api.send('GET', `/api/functions/${enc(ref)}/logs?${q}&follow=true`);
    if (!res.ok) await api.json(res);
    console.error(color.dim('following; Ctrl-C to stop', process.stderr));
    for await (const e of readEvents(res)) {
      if (e.event !== 'log') continue;
      let l: LogLine;
      try {
        l = JSON.parse(e.data) as LogLine;
      } catch {
        continue; // not a line of ours
      }
      if (opts.json) console.log(JSON.stringify(l));
      else printLine(l);
    }
  });

  examples(
    withServerJson(program.command('executions <fn>').description('recent calls of a function, newest first'))
      .option('--status <status>', 'only success, error, timeout, oom, crashed, rejected or agent_lost')
      .option('--limit <n>', 'rows (1–100)', '20'),
    ['cpub executions hello', 'cpub executions hello --status error'],
  ).action(async (ref: string, opts) => {
    const api = ctx.api(opts);
    const q = new URLSearchParams({ limit: opts.limit, ...(opts.status ? { status: opts.status } : {}) });
    const r = await api.request<ExecutionList>('GET', `/api/functions/${enc(ref)}/executions?${q}`);
    if (opts.json) return printJson(r);
    printTable(
      r.executions.map((e) => ({ ...e, status: e.status === 'success' ? color.green(e.status) : color.red(e.status), call: `${e.request.method} ${e.request.path}`, ms: `${e.durationMs}${e.coldStart ? ' (cold)' : ''}`, v: `v${e.version}` })),
      [
        ['id', 'ID'],
        ['startedAt', 'STARTED'],
        ['status', 'STATUS'],
        ['httpStatus', 'HTTP'],
        ['ms', 'MS'],
        ['v', 'VERSION'],
        ['trigger', 'VIA'],
        ['call', 'REQUEST'],
      ],
    );
  });

  examples(withServerJson(program.command('execution <id>').description('one call: status, timings, resources and its log')), ['cpub execution 0b6f…']).action(async (id: string, opts) => {
    const api = ctx.api(opts);
    const found = await api.request<{ execution: ExecutionView } | { call: AsyncCallView }>('GET', `/api/executions/${enc(id)}`);
    if (opts.json) return printJson(found);
    if ('call' in found) return printCall(found.call);
    const e = found.execution;
    const t = e.timings;
    printFields([
      ['id', e.id],
      ['status', `${e.status} (HTTP ${e.httpStatus})`],
      ['version', `v${e.version}`],
      ['via', e.trigger],
      ...(e.callId ? ([['attempt of', `async call ${e.callId}`]] as [string, string][]) : []),
      ['request', `${e.request.method} ${e.request.path} (${formatBytes(e.request.bytes)})`],
      ['started', e.startedAt],
      ['duration', `${e.durationMs} ms${e.coldStart ? ` (cold start: create ${t.createMs} ms, start ${t.startMs} ms, ready ${t.readyMs} ms)` : ''}`],
      ['run', `${t.runMs} ms`],
      ['cpu', `${e.cpuMs} ms`],
      ['peak memory', formatBytes(e.peakMemoryBytes)],
      ['error', e.error],
    ]);
    console.log(color.bold(`\nlog${e.logsTruncated ? ' (truncated)' : ''}:`));
    for (const l of e.logs ?? []) printLine({ ...l, executionId: e.id });
  });

  examples(withServerJson(program.command('stats <fn>').description('calls, errors, latency, cold starts, CPU and memory; with a sparkline per hour (per day for 7d, 30d)')).option('--period <period>', '1h, 24h, 7d or 30d', '24h'), [
    'cpub stats hello',
    'cpub stats hello --period 7d',
  ]).action(async (ref: string, opts) => {
    if (!['1h', '24h', '7d', '30d'].includes(opts.period)) throw new CliError('invalid --period', `${opts.period}: use 1h, 24h, 7d or 30d`, 2);
    const api: ApiClient = ctx.api(opts);
    // Hours for a day or less, days beyond: the sparkline covers the whole period.
    const [unit, count] = ({ '1h': ['hourly', 'hours=1'], '24h': ['hourly', 'hours=24'], '7d': ['daily', 'days=7'], '30d': ['daily', 'days=30'] } as const)[opts.period as '1h'];
    const [s, series] = await Promise.all([
      api.request<StatsSummary>('GET', `/api/functions/${enc(ref)}/stats?period=${opts.period}`),
      api.request<StatsBuckets>('GET', `/api/functions/${enc(ref)}/stats/${unit}?${count}`),
    ]);
    if (opts.json) return printJson({ ...s, [unit]: series.buckets });
    const per = unit === 'hourly' ? 'hour' : 'day';
    printFields([
      ['period', opts.period],
      ['calls', `${s.invocations} (${s.successes} ok, ${s.errors} errors, ${(s.errorRate * 100).toFixed(1)}%)`],
      ['latency', `p50 ${s.latencyMs.p50} ms, p95 ${s.latencyMs.p95} ms, p99 ${s.latencyMs.p99} ms, avg ${s.latencyMs.avg} ms`],
      ['cold starts', s.coldStarts],
      ['async attempts', `${s.asyncAttempts} (${s.retries} retries)`],
      ['avg cpu', `${s.avgCpuMs} ms`],
      ['max memory', formatBytes(s.maxMemoryBytes)],
      [`calls/${per} (${series.buckets.length})`, sparkline(series.buckets.map((b) => b.invocations))],
      [`errors/${per}`, sparkline(series.buckets.map((b) => b.errors))],
      [`retries/${per}`, sparkline(series.buckets.map((b) => b.retries))],
    ]);
  });
}
