// `cpub list | info | update | delete | deployments | rollback`: functions and their versions.
import type { Command } from 'commander';
import { ApiError, type ApiClient } from '../api-client.js';
import { durationMs } from '../../../common/duration.js';
import { ask } from '../prompt.js';
import { enc, examples, withServer, withServerJson, type Ctx } from '../context.js';
import { CliError, color, formatBytes, printFields, printJson, printTable } from '../output.js';
import { absoluteUrl } from './deploy.js';
import type { DeploymentList, FunctionList, FunctionView, ScalingView } from '../../../common/api-types.js';

/** A duration flag (500ms, 10s, 5m, 1h) in milliseconds, with the shared parser of the server's settings. */
export function parseDuration(text: string, field: string): number {
  const ms = durationMs(text.trim());
  if (ms === undefined) throw new CliError('invalid duration', `${field}: ${text} (use e.g. 500ms, 10s, 5m, 1h)`, 2);
  return ms;
}

const getFn = async (api: ApiClient, ref: string) => (await api.request<{ function: FunctionView }>('GET', `/api/functions/${enc(ref)}`)).function;

export function functionCommands(program: Command, ctx: Ctx): void {
  examples(withServerJson(program.command('list').alias('ls').description('your functions, newest first')), ['cpub list', 'cpub list --json']).action(async (opts) => {
    const api = ctx.api(opts);
    const all: FunctionView[] = [];
    for (let cursor: string | null = null; ; ) {
      const page: FunctionList = await api.request('GET', `/api/functions?limit=100${cursor ? `&cursor=${enc(cursor)}` : ''}`);
      all.push(...page.functions);
      if (!(cursor = page.nextCursor)) break;
    }
    if (opts.json) return printJson({ functions: all });
    printTable(
      all.map((f) => ({ ...f, version: f.activeVersion === null ? '-' : `v${f.activeVersion}`, limits: `${f.memoryMb} MB, ${f.cpus} CPU, ${Number(f.timeoutMs) / 1000} s` })),
      [
        ['name', 'NAME'],
        ['status', 'STATUS'],
        ['version', 'VERSION'],
        ['auth', 'AUTH'],
        ['limits', 'LIMITS'],
        ['url', 'URL'],
      ],
    );
  });

  examples(withServerJson(program.command('info <fn>').description('one function: limits, auth, active version, URL, and how it scales now (calls, queue, warm containers, floor, cap)')), ['cpub info hello']).action(async (ref: string, opts) => {
    const api = ctx.api(opts);
    const f = await getFn(api, ref);
    // A server from before GET …/scaling answers 404 there: its function is shown without how it scales.
    const s = await api
      .request<{ scaling: ScalingView }>('GET', `/api/functions/${enc(f.id)}/scaling`)
      .then((r) => r.scaling)
      .catch((err: unknown) => {
        if (err instanceof ApiError && err.status === 404) return null;
        throw err;
      });
    if (opts.json) return printJson({ function: f, scaling: s });
    printFields([
      ['name', f.name],
      ['id', f.id],
      ['status', f.status],
      ['active version', f.activeVersion === null ? '-' : `v${f.activeVersion}`],
      ['url', absoluteUrl(api, f.url)],
      ['auth', f.auth],
      ['network', f.network],
      ['memory', `${f.memoryMb} MB`],
      ['cpus', f.cpus],
      ['timeout', `${Number(f.timeoutMs) / 1000} s`],
      ['concurrency', f.concurrency],
      ['max instances', `${f.maxInstances} (across the fleet)`],
      ['warm floor', f.minInstances ? `${f.minInstances} (containers kept started, idle or not)` : 'none (containers start on demand)'],
      ['records kept', f.executionRetention ?? 'server default'],
      ['records of successes', f.executionSampling === null ? 'server default' : `${f.executionSampling} per second at most`],
      ['queue before 429', f.queueTimeoutMs === 0 ? 'none (a call over capacity is refused at once)' : `${f.queueTimeoutMs} ms (a call over concurrency × max instances waits this long for a slot)`],
      ['async calls at once', f.asyncConcurrency === 0 ? '0 (the queue is held)' : (f.asyncConcurrency ?? `${f.concurrency * f.maxInstances} (concurrency × max instances)`)],
      ['async retries', `${f.retry.maxAttempts} after the first, from ${f.retry.backoff.baseMs} ms doubling to ${f.retry.backoff.maxMs} ms${f.retry.backoff.jitter ? ' (jitter)' : ''}, on ${f.retry.on.join(', ')}`],
      ['on success, POST to', f.destinations.onSuccess ?? 'nowhere'],
      ['on failure, POST to', f.destinations.onFailure ?? 'nowhere'],
      ['updated', f.updatedAt],
    ]);
    if (!s) return;
    console.log('');
    printFields([
      ['in flight', `${s.inFlight} of ${s.capacity} (concurrency × max instances)`],
      ['waiting for a slot', s.waiting],
      ['async queued', s.queued],
      ...s.versions.map((v): [string, string] => [
        `v${v.version}${v.weight ? ` (${v.weight}%)` : ''}`,
        `${v.idle + v.busy} warm (${v.busy} busy)${v.floorWanted || v.floorHeld ? `, floor ${v.floorHeld} of ${v.floorWanted}` : ''}${v.nodes.length ? ` on ${v.nodes.map((n) => `${n.name} ${n.idle + n.busy}`).join(', ')}` : ''}${keepAliveText(v.nodes)}`,
      ]),
      ...(s.floorShortfall ? [['floor short', s.floorShortfall] as [string, string]] : []),
    ]);
  });

  examples(
    withServerJson(program.command('update <fn>').description('change limits, auth mode, network (warm containers are recycled) or how its calls are recorded'))
      .option('--memory <mb>', 'memory in MB (64–4096)')
      .option('--cpus <n>', 'CPUs (0.1–8)')
      .option('--timeout <duration>', 'per-call timeout, e.g. 10s (100ms–15m)')
      .option('--concurrency <n>', 'calls one container takes at once (1–1000)')
      .option('--max-instances <n>', 'containers at most, across the fleet (1–100)')
      .option('--min-instances <n>', 'containers kept started across the fleet, idle or not: the warm floor (0–100, at most --max-instances)')
      .option('--auth <mode>', 'private (your token), key (an API key) or public')
      .option('--network <mode>', 'none or egress')
      .option('--execution-retention <duration>', 'how long execution records are kept, 1h–400d (e.g. 3d), or "default" for the server’s')
      .option('--execution-sampling <n>', 'successful calls per second that get a record (errors and cold starts always do; all count in stats), or "default"')
      .option('--queue-timeout <duration>', 'how long a call over capacity (the function’s, or its team’s quota) waits for room before a 429, up to 30s (0: refused at once), or "default" (1s)')
      .option('--async-concurrency <n>', 'queued calls (--async) running at once, 0–1000 (0 holds the queue: its calls wait), or "default" (concurrency × max instances)')
      .option('--retries <n>', 'attempts after the first for a failed queued call (0–10)')
      .option('--retry-backoff <duration>', 'the wait before the first retry, doubled for each next (e.g. 500ms, 2s)')
      .option('--retry-on <outcomes>', 'what earns a retry, comma-separated: error, timeout, oom, crashed, agent_lost, no_agent, http_5xx, http_4xx')
      .option('--on-success <url>', 'POST the outcome of each queued call that succeeds to this URL (signed; see cpub destination-secret), or "none"')
      .option('--on-failure <url>', 'POST the outcome of each queued call that fails after its last attempt to this URL, or "none"'),
    ['cpub update hello --memory 256 --timeout 10s', 'cpub update hello --auth public', 'cpub update hello --min-instances 2', 'cpub update hello --execution-retention 3d --execution-sampling 100', 'cpub update report --retries 5 --retry-backoff 2s --retry-on error,timeout,http_5xx', 'cpub update report --on-failure https://hooks.example.com/cpub'],
  ).action(async (ref: string, opts) => {
    const api = ctx.api(opts);
    const num = (v: string | undefined, field: string) => {
      if (v === undefined) return undefined;
      const n = Number(v);
      if (!Number.isFinite(n)) throw new CliError('invalid value', `${field}: ${v} is not a number`, 2);
      return n;
    };
    const patch = Object.fromEntries(
      Object.entries({
        memoryMb: num(opts.memory, '--memory'),
        cpus: num(opts.cpus, '--cpus'),
        timeoutMs: opts.timeout === undefined ? undefined : parseDuration(opts.timeout, '--timeout'),
        concurrency: num(opts.concurrency, '--concurrency'),
        maxInstances: num(opts.maxInstances, '--max-instances'),
        minInstances: num(opts.minInstances, '--min-instances'),
        auth: opts.auth,
        network: opts.network,
        executionRetention: opts.executionRetention === 'default' ? null : opts.executionRetention,
        executionSampling: opts.executionSampling === 'default' ? null : num(opts.executionSampling, '--execution-sampling'),
        asyncConcurrency: opts.asyncConcurrency === 'default' ? null : num(opts.asyncConcurrency, '--async-concurrency'),
        queueTimeoutMs: opts.queueTimeout === undefined ? undefined : opts.queueTimeout === 'default' ? null : /^0+(ms|s)?$/.test(opts.queueTimeout) ? 0 : parseDuration(opts.queueTimeout, '--queue-timeout'),
      }).filter(([, v]) => v !== undefined),
    );
    const backoff = opts.retryBackoff === undefined ? undefined : { baseMs: parseDuration(opts.retryBackoff, '--retry-backoff') };
    const retry = Object.fromEntries(
      Object.entries({ maxAttempts: num(opts.retries, '--retries'), backoff, on: opts.retryOn === undefined ? undefined : String(opts.retryOn).split(',').map((s: string) => s.trim()).filter(Boolean) }).filter(([, v]) => v !== undefined),
    );
    if (Object.keys(retry).length) patch.retry = retry;
    const url = (v: string | undefined) => (v === undefined ? undefined : v === 'none' ? null : v);
    const destinations = Object.fromEntries(Object.entries({ onSuccess: url(opts.onSuccess), onFailure: url(opts.onFailure) }).filter(([, v]) => v !== undefined));
    if (Object.keys(destinations).length) patch.destinations = destinations;
    if (!Object.keys(patch).length) throw new CliError('nothing to change', 'pass at least one of --memory, --cpus, --timeout, --concurrency, --max-instances, --min-instances, --auth, --network, --execution-retention, --execution-sampling, --queue-timeout, --async-concurrency, --retries, --retry-backoff, --retry-on, --on-success, --on-failure', 2);
    const f = (await api.request<{ function: FunctionView }>('PATCH', `/api/functions/${enc(ref)}`, patch)).function;
    if (opts.json) return printJson({ function: f });
    console.log(`updated ${f.name}: ${f.memoryMb} MB, ${f.cpus} CPU, timeout ${Number(f.timeoutMs) / 1000} s, concurrency ${f.concurrency}, auth ${f.auth}, network ${f.network}`);
  });

  examples(withServer(program.command('delete <fn>').description('delete a function with its versions, keys, env and executions')).option('-y, --yes', 'do not ask for the name'), [
    'cpub delete hello',
    'cpub delete hello --yes',
  ]).action(async (ref: string, opts) => {
    const api = ctx.api(opts);
    const f = await getFn(api, ref);
    if (!opts.yes) {
      if (!process.stdin.isTTY) throw new CliError('confirmation needed', `pass --yes to delete ${f.name} without a terminal`, 2);
      const typed = await ask(`This deletes ${f.name} and everything of it. Type its name to confirm: `);
      if (typed !== f.name) throw new CliError('not deleted', 'the name did not match');
    }
    await api.request('DELETE', `/api/functions/${enc(f.id)}`);
    console.log(`deleted ${f.name}`);
  });

  examples(withServerJson(program.command('deployments <fn>').description('versions of a function, newest first')), ['cpub deployments hello']).action(async (ref: string, opts) => {
    const api = ctx.api(opts);
    const r = await api.request<DeploymentList>('GET', `/api/functions/${enc(ref)}/deployments?limit=100`);
    if (opts.json) return printJson(r);
    printTable(
      r.deployments.map((d) => ({ ...d, v: `v${d.version}${d.active ? ' *' : ''}`, digest: d.digest.slice(0, 12), size: formatBytes(d.sizeBytes), build: d.durationMs === null ? '-' : `${(d.durationMs / 1000).toFixed(1)} s` })),
      [
        ['v', 'VERSION'],
        ['status', 'STATUS'],
        ['digest', 'DIGEST'],
        ['runtime', 'RUNTIME'],
        ['size', 'SIZE'],
        ['build', 'BUILD'],
        ['createdAt', 'CREATED'],
        ['error', 'ERROR'],
      ],
    );
  });

  examples(withServerJson(program.command('rollback <fn> [version]').description('make a ready version active again (without a version: pick one on a terminal)')), [
    'cpub rollback hello 2',
    'cpub rollback hello',
  ]).action(async (ref: string, version: string | undefined, opts) => {
    const api = ctx.api(opts);
    let v = version === undefined ? undefined : Number(version.replace(/^v/, ''));
    if (v !== undefined && !(Number.isSafeInteger(v) && v > 0)) throw new CliError('invalid version', `${version}: a version number like 2`, 2);
    if (v === undefined) {
      const { deployments } = await api.request<DeploymentList>('GET', `/api/functions/${enc(ref)}/deployments?limit=20`);
      const ready = deployments.filter((d) => d.status === 'ready' && !d.active);
      if (!ready.length) throw new CliError('nothing to roll back to', 'no other ready version');
      if (!process.stdin.isTTY) throw new CliError('version needed', `pass the version (ready ones: ${ready.map((d) => d.version).join(', ')})`, 2);
      ready.forEach((d, i) => console.error(`  ${i + 1}) v${d.version}  ${d.digest.slice(0, 12)}  ${d.createdAt}`));
      const pick = Number(await ask(`Roll back to which (1–${ready.length})? `));
      if (!(pick >= 1 && pick <= ready.length)) throw new CliError('not rolled back', 'no version picked');
      v = ready[pick - 1]!.version;
    }
    const f = (await api.request<{ function: FunctionView }>('POST', `/api/functions/${enc(ref)}/rollback`, { version: v })).function;
    if (opts.json) return printJson({ function: f });
    console.log(`${color.green('rolled back')} ${f.name}: v${f.activeVersion} is active`);
  });

  examples(withServerJson(program.command('destination-secret <fn>').description('the secret deliveries to the function’s destinations are signed with: X-Cpub-Signature = base64 HMAC-SHA256(secret, X-Cpub-Timestamp + ":" + body)')).option('--rotate', 'make a new one (deliveries from now on are signed with it)'), [
    'cpub destination-secret report',
    'cpub destination-secret report --rotate',
  ]).action(async (ref: string, opts) => {
    const r = await ctx.api(opts).request<{ secret: string }>(opts.rotate ? 'POST' : 'GET', `/api/functions/${enc(ref)}/destinations/secret`);
    if (opts.json) return printJson(r);
    console.log(r.secret);
  });
}

/** A version's keep-alive as its nodes report it: learned (prewarm, keep) or the fixed idle timeout. */
function keepAliveText(nodes: ScalingView['versions'][number]['nodes']): string {
  const n = nodes.find((x) => x.learned) ?? nodes[0];
  if (!n || !n.keepAliveMs) return '';
  const s = (ms: number) => (ms >= 60_000 ? `${(ms / 60_000).toFixed(1)} min` : `${Math.round(ms / 1000)} s`);
  if (!n.learned) return `; idle timeout ${s(n.keepAliveMs)}`;
  return n.prewarmMs ? `; learned: released after a call, prewarmed after ${s(n.prewarmMs)}, kept ${s(n.keepAliveMs)}` : `; learned keep-alive ${s(n.keepAliveMs)}`;
}
