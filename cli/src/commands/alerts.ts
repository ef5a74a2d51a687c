// `cpub alerts [list] | rules … | channels … | silence | silences | unsilence`: what is firing, the rules that decide
// it, where alerts are sent, and silences. --fleet works on the fleet's (server administrators).
import type { Command } from 'commander';
import type { AlertChannelView, AlertRuleView, AlertSilenceView, AlertView } from '../../../common/api-types.js';
import { enc, examples, withServer, withServerJson, type Ctx } from '../context.js';
import { CliError, color, printJson, printTable } from '../output.js';
import { parseDuration } from './functions.js';

const fleetQuery = (opts: { fleet?: boolean }) => (opts.fleet ? '?fleet=true' : '');
const fleetFlag = (cmd: Command) => cmd.option('--fleet', 'the fleet’s (server administrators): built-in rules, nodes, security events');

function num(text: string | undefined, field: string): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isFinite(n)) throw new CliError('bad number', `${field}: ${text} is not a number`, 2);
  return n;
}
const secs = (text: string | undefined, field: string) => (text === undefined ? undefined : Math.round(parseDuration(text, field) / 1000));

/** Rule parameters from the flags that were given (the server keeps the rest). */
function ruleParams(o: Record<string, string | undefined>): Record<string, unknown> {
  const p: Record<string, unknown> = {
    threshold: num(o.threshold, '--threshold'),
    factor: o.factor === 'none' ? null : num(o.factor, '--factor'),
    minDeltaMs: o.minDelta === undefined ? undefined : parseDuration(o.minDelta, '--min-delta'),
    windowSec: secs(o.window, '--window'),
    minCalls: num(o.minCalls, '--min-calls'),
    forSec: secs(o.for, '--for'),
    clearSec: secs(o.clear, '--clear'),
    event: o.event,
    severity: o.severity,
  };
  return Object.fromEntries(Object.entries(p).filter(([, v]) => v !== undefined));
}

const ruleOptions = (cmd: Command) =>
  cmd
    .option('--threshold <n>', 'error_rate, cold_start_rate, node_memory, node_disk: percent; latency_p95: ms; queue_age: seconds; counts: how many in the window')
    .option('--window <duration>', 'the window the value is measured over, e.g. 30s, 5m')
    .option('--min-calls <n>', 'rates and latency: fewer calls in the window prove nothing')
    .option('--for <duration>', 'how long the condition must hold before the alert fires')
    .option('--clear <duration>', 'how long the value must stay below its clearing level (80 % of a rate’s threshold) before it resolves')
    .option('--factor <n>', 'latency_p95: fire over n × its own p95 of the week before ("none": the threshold alone)')
    .option('--min-delta <duration>', 'latency_p95 with a factor: and at least this much over that baseline, e.g. 50ms')
    .option('--event <event>', 'security: refresh_reuse, login_throttled, bad_join_token or disabled_account_token')
    .option('--severity <level>', 'critical, warning or info');

function printAlerts(list: AlertView[]): void {
  printTable(
    list.map((a) => ({ ...a, st: a.state === 'firing' ? color.red('firing') : a.state === 'pending' ? color.yellow('pending') : color.green('resolved'), since: a.resolvedAt ?? a.firedAt ?? a.startedAt, silent: a.silenced ? 'silenced' : '' })),
    [
      ['st', 'STATE'],
      ['rule', 'RULE'],
      ['summary', 'SUMMARY'],
      ['since', 'SINCE'],
      ['silent', ''],
    ],
  );
}

export function alertsCommands(program: Command, ctx: Ctx): void {
  const alerts = program
    .command('alerts')
    .description('alerts on your functions (and, for administrators, the fleet): what is firing, the rules, the channels they are sent to, silences');

  examples(
    fleetFlag(withServerJson(alerts.command('list', { isDefault: true }).description('alerts, newest first (open and past)')))
      .option('--state <state>', 'open (pending and firing), firing, resolved or all', 'all')
      .option('--fn <fn>', 'only this function’s')
      .option('--limit <n>', 'at most this many', '50'),
    ['cpub alerts', 'cpub alerts list --state firing', 'cpub alerts list --fleet'],
  ).action(async (opts) => {
    const q = new URLSearchParams({ state: opts.state, limit: opts.limit, ...(opts.fn ? { function: opts.fn } : {}), ...(opts.fleet ? { fleet: 'true' } : {}) });
    const r = await ctx.api(opts).request<{ alerts: AlertView[] }>('GET', `/api/alerts?${q}`);
    if (opts.json) return printJson(r);
    if (!r.alerts.length) return console.error(color.dim('(no alerts)', process.stderr));
    printAlerts(r.alerts);
  });

  const rules = alerts.command('rules').description('the rules alerts come from: built-in ones (changed by administrators) and your team’s');
  examples(fleetFlag(withServerJson(rules.command('list', { isDefault: true }).description('the rules in force, with every parameter'))), ['cpub alerts rules']).action(async (opts) => {
    const r = await ctx.api(opts).request<{ rules: AlertRuleView[] }>('GET', `/api/alerts/rules${fleetQuery(opts)}`);
    if (opts.json) return printJson(r);
    printTable(
      r.rules.map((x) => ({ ...x, on: x.enabled ? 'on' : color.dim('off'), scope: x.function ?? (x.fleet ? 'fleet' : 'team'), p: Object.entries(x.params).map(([k, v]) => `${k}=${v}`).join(' ') })),
      [
        ['id', 'ID'],
        ['kind', 'KIND'],
        ['scope', 'COVERS'],
        ['on', 'ON'],
        ['p', 'PARAMETERS'],
      ],
    );
  });
  examples(
    ruleOptions(fleetFlag(withServerJson(rules.command('add <kind>').description('add a rule: error_rate, latency_p95, cold_start_rate, oom, dead_letters, queue_age, build_failed (function rules); node_down, node_memory, node_disk, security (--fleet)'))))
      .option('--fn <fn>', 'one function only (default: every function of the team)')
      .option('--name <name>', 'what the alert is called'),
    ['cpub alerts rules add error_rate --fn checkout --threshold 1 --window 1m', 'cpub alerts rules add latency_p95 --threshold 800 --factor none', 'cpub alerts rules add security --event login_throttled --threshold 20 --fleet'],
  ).action(async (kind: string, opts) => {
    const body = { kind, ...(opts.fn ? { function: opts.fn } : {}), ...(opts.name ? { name: opts.name } : {}), ...(opts.fleet ? { fleet: true } : {}), params: ruleParams(opts) };
    const r = await ctx.api(opts).request<{ rule: AlertRuleView }>('POST', '/api/alerts/rules', body);
    if (opts.json) return printJson(r);
    console.log(r.rule.id);
  });
  examples(
    ruleOptions(withServerJson(rules.command('set <id>').description('change a rule (built-in ones: administrators); parameters not given are kept')))
      .option('--enable', 'evaluate it')
      .option('--disable', 'stop evaluating it (its open alerts resolve)')
      .option('--name <name>', 'rename it'),
    ['cpub alerts rules set builtin:error-rate --threshold 10 --window 1m', 'cpub alerts rules set builtin:cold-starts --disable'],
  ).action(async (id: string, opts) => {
    if (opts.enable && opts.disable) throw new CliError('conflicting flags', '--enable or --disable, not both', 2);
    const params = ruleParams(opts);
    const body = { ...(opts.name ? { name: opts.name } : {}), ...(opts.enable ? { enabled: true } : opts.disable ? { enabled: false } : {}), ...(Object.keys(params).length ? { params } : {}) };
    if (!Object.keys(body).length) throw new CliError('nothing to change', 'give a parameter (--threshold, --window, …), --enable, --disable or --name', 2);
    const r = await ctx.api(opts).request<{ rule: AlertRuleView }>('PATCH', `/api/alerts/rules/${enc(id)}`, body);
    if (opts.json) return printJson(r);
    console.log(`${r.rule.id}: ${r.rule.enabled ? 'on' : 'off'}, ${Object.entries(r.rule.params).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  });
  examples(withServer(rules.command('rm <id>').description('delete a rule (a built-in one goes back to its defaults)')), ['cpub alerts rules rm 0193a6…']).action(async (id: string, opts) => {
    await ctx.api(opts).request('DELETE', `/api/alerts/rules/${enc(id)}`);
    console.log(id.startsWith('builtin:') ? `${id} is back to its defaults` : `deleted ${id}`);
  });

  const channels = alerts.command('channels').description('where alerts are sent: a signed webhook (Alertmanager’s JSON), Slack, an Alertmanager, or email');
  examples(fleetFlag(withServerJson(channels.command('list', { isDefault: true }).description('the channels, each with its latest delivery'))), ['cpub alerts channels']).action(async (opts) => {
    const r = await ctx.api(opts).request<{ channels: AlertChannelView[] }>('GET', `/api/alerts/channels${fleetQuery(opts)}`);
    if (opts.json) return printJson(r);
    if (!r.channels.length) return console.error(color.dim('(no channels: add one with cpub alerts channels add)', process.stderr));
    printTable(
      r.channels.map((c) => ({ ...c, last: c.lastDelivery ? `${c.lastDelivery.state}${c.lastDelivery.error ? `: ${c.lastDelivery.error}` : ''} (${c.lastDelivery.at})` : '—' })),
      [
        ['id', 'ID'],
        ['name', 'NAME'],
        ['type', 'TYPE'],
        ['target', 'TARGET'],
        ['last', 'LAST DELIVERY'],
      ],
    );
  });
  examples(
    fleetFlag(withServerJson(channels.command('add <name>').description('add a channel (one of --webhook, --slack, --alertmanager, --email); a webhook’s signing secret is printed once')))
      .option('--webhook <url>', 'POST Alertmanager’s webhook JSON, signed: X-Cpub-Signature = base64 HMAC-SHA256(secret, X-Cpub-Timestamp + ":" + body)')
      .option('--slack <url>', 'a Slack (or compatible) incoming webhook')
      .option('--alertmanager <url>', 'an Alertmanager: alerts go to its /api/v2/alerts')
      .option('--email <addresses>', 'comma-separated addresses (the server needs CPUB_SMTP_URL)'),
    ['cpub alerts channels add oncall --webhook https://hooks.example.com/cpub', 'cpub alerts channels add ops --email ops@example.com,lead@example.com'],
  ).action(async (name: string, opts) => {
    const given = (['webhook', 'slack', 'alertmanager', 'email'] as const).filter((t) => opts[t] !== undefined);
    if (given.length !== 1) throw new CliError('one channel type', 'give exactly one of --webhook, --slack, --alertmanager or --email', 2);
    const type = given[0]!;
    const body = { name, type, ...(type === 'email' ? { to: String(opts.email).split(',').map((a: string) => a.trim()).filter(Boolean) } : { url: opts[type] }), ...(opts.fleet ? { fleet: true } : {}) };
    const r = await ctx.api(opts).request<{ channel: AlertChannelView; secret: string | null }>('POST', '/api/alerts/channels', body);
    if (opts.json) return printJson(r);
    console.log(r.channel.id);
    if (r.secret) process.stderr.write(`signing secret (shown once; verify X-Cpub-Signature with it):\n${r.secret}\n`);
  });
  examples(withServer(channels.command('rm <id>').description('delete a channel')), ['cpub alerts channels rm 0193a6…']).action(async (id: string, opts) => {
    await ctx.api(opts).request('DELETE', `/api/alerts/channels/${enc(id)}`);
    console.log(`deleted ${id}`);
  });
  examples(withServerJson(channels.command('test <id>').description('send a test alert to the channel now and say how it went')), ['cpub alerts channels test 0193a6…']).action(async (id: string, opts) => {
    const r = await ctx.api(opts).request<{ delivered: boolean; error: string | null }>('POST', `/api/alerts/channels/${enc(id)}/test`);
    if (opts.json) return printJson(r);
    if (!r.delivered) throw new CliError('not delivered', r.error ?? 'the channel did not take it', 1);
    console.log('delivered');
  });

  examples(
    fleetFlag(withServerJson(alerts.command('silence').description('hold back deliveries of matching alerts for a while (they are still tracked; when it ends, an alert still firing is sent, and an end held back is sent); name at least one of --rule, --fn, --kind, --subject')))
      .requiredOption('--for <duration>', 'how long, e.g. 2h, 30m (1 minute to 90 days)')
      .option('--rule <id>', 'alerts of this rule')
      .option('--fn <fn>', 'alerts about this function')
      .option('--kind <kind>', 'alerts of rules of this kind')
      .option('--subject <subject>', 'a node, an account or address, or team/function')
      .option('--comment <text>', 'why (shown with it)'),
    ['cpub alerts silence --rule builtin:error-rate --fn checkout --for 2h --comment "deploying a fix"', 'cpub alerts silence --kind node_down --subject node-3 --for 1h --fleet'],
  ).action(async (opts) => {
    const body = { durationSec: Math.round(parseDuration(opts.for, '--for') / 1000), ...(opts.rule ? { ruleId: opts.rule } : {}), ...(opts.fn ? { function: opts.fn } : {}), ...(opts.kind ? { kind: opts.kind } : {}), ...(opts.subject ? { subject: opts.subject } : {}), ...(opts.comment ? { comment: opts.comment } : {}), ...(opts.fleet ? { fleet: true } : {}) };
    const r = await ctx.api(opts).request<{ silence: AlertSilenceView }>('POST', '/api/alerts/silences', body);
    if (opts.json) return printJson(r);
    console.log(r.silence.id);
    process.stderr.write(color.dim(`silenced until ${r.silence.endsAt}\n`));
  });
  examples(fleetFlag(withServerJson(alerts.command('silences').description('silences in force'))), ['cpub alerts silences']).action(async (opts) => {
    const r = await ctx.api(opts).request<{ silences: AlertSilenceView[] }>('GET', `/api/alerts/silences${fleetQuery(opts)}`);
    if (opts.json) return printJson(r);
    if (!r.silences.length) return console.error(color.dim('(no silences)', process.stderr));
    printTable(
      r.silences.map((x) => ({ ...x, what: [x.ruleId && `rule=${x.ruleId}`, x.function && `fn=${x.function}`, x.kind && `kind=${x.kind}`, x.subject && `subject=${x.subject}`].filter(Boolean).join(' ') })),
      [
        ['id', 'ID'],
        ['what', 'MATCHES'],
        ['endsAt', 'UNTIL'],
        ['comment', 'COMMENT'],
      ],
    );
  });
  examples(withServer(alerts.command('unsilence <id>').description('end a silence now: what it held back and still holds is sent (an alert still firing, an alert that ended)')), ['cpub alerts unsilence 0193a6…']).action(async (id: string, opts) => {
    await ctx.api(opts).request('DELETE', `/api/alerts/silences/${enc(id)}`);
    console.log(`ended ${id}`);
  });
}
