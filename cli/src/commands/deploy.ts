// `cpub deploy [dir]`: analyse, bundle, pack, upload with a progress bar, stream the build log, print the
// version and URL. `cpub status [dir]`: is what is deployed this folder's current content?
import { basename, resolve } from 'node:path';
import type { Command } from 'commander';
import { analyse } from '../analysis/check.js';
import type { Packed } from '../../../common/pack.js';
import { ApiError, type ApiClient } from '../api-client.js';
import { enc, examples, withServer, withServerJson, type Ctx } from '../context.js';
import { CliError, color, formatBytes, jsonOption, printJson } from '../output.js';
import { spinner, uploadBar } from '../progress.js';
import { readEvents } from '../sse.js';
import { report } from '../analysis/report.js';
import type { CanaryView, DeploymentDetail, DeploymentView, FunctionView } from '../../../common/api-types.js';
import { parseShare, printCanary } from './canary.js';
import { parseDuration } from './functions.js';

/** The bundler and packer (esbuild, tar): loaded by the commands that pack, not by every run of `cpub`. */
const packing = async () => {
  const [{ readManifest }, { pack }] = await Promise.all([import('../../../common/pack.js'), import('../bundle/pack.js')]);
  return { readManifest, pack };
};

const SETTINGS = ['memoryMb', 'cpus', 'timeoutMs', 'concurrency', 'maxInstances', 'minInstances', 'auth', 'network', 'executionRetention', 'executionSampling', 'asyncConcurrency', 'queueTimeoutMs', 'responseLimitMb', 'requestLimitMb', 'retry', 'destinations'] as const;
type Setting = (typeof SETTINGS)[number];

/** True when `given` (a manifest's setting: an object may name only some fields) says other than `held`. */
function differs(held: unknown, given: unknown): boolean {
  if (given !== null && typeof given === 'object' && !Array.isArray(given)) {
    if (held === null || typeof held !== 'object') return true;
    return Object.entries(given).some(([k, v]) => differs((held as Record<string, unknown>)[k], v));
  }
  return JSON.stringify(held) !== JSON.stringify(given);
}

const shown = (v: unknown) => (v !== null && typeof v === 'object' ? JSON.stringify(v) : String(v));

/**
 * The function named by the manifest: created with the manifest's settings when it does not exist yet, else
 * brought in line with them (the settings the manifest names and the server holds otherwise).
 */
async function ensureFunction(api: ApiClient, manifest: Record<string, unknown>): Promise<FunctionView> {
  const name = String(manifest.name ?? '');
  const settings = Object.fromEntries(SETTINGS.filter((k) => manifest[k] !== undefined).map((k) => [k, manifest[k]]));
  let existing: FunctionView | undefined;
  try {
    existing = (await api.request<{ function: FunctionView }>('GET', `/api/functions/${enc(name)}`)).function;
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 404)) throw err;
  }
  if (existing) {
    const changed = Object.fromEntries(Object.entries(settings).filter(([k, v]) => differs(existing![k as Setting], v)));
    if (!Object.keys(changed).length) return existing;
    console.error(`updating ${name}'s settings from containerpub.json: ${Object.entries(changed).map(([k, v]) => `${k} ${shown(existing![k as Setting])} → ${shown(v)}`).join(', ')}`);
    return (await api.request<{ function: FunctionView }>('PATCH', `/api/functions/${enc(name)}`, changed)).function;
  }
  const created = (await api.request<{ function: FunctionView }>('POST', '/api/functions', { name, ...settings })).function;
  console.error(`created function ${name}`);
  return created;
}

export function absoluteUrl(api: ApiClient, url: string): string {
  return url.startsWith('/') ? api.server + url : url;
}

export function deployCommands(program: Command, ctx: Ctx): void {
  examples(
    withServer(program.command('deploy [dir]').description('analyse, bundle and upload a function folder, stream its build log, print the version and URL'))
      .option('--strict', 'stop on any analysis finding (files that must never ship, risky APIs)')
      .option('--no-wait', 'return once uploaded, without waiting for the build')
      .option('--canary <percent>', 'deploy as a canary: the new version gets this share of calls (e.g. 10%) and is not made active; it is promoted when it holds for --for, rolled back on its own when its error rate or p95 is worse')
      .option('--for <duration>', 'the canary’s window (default 10m)')
      .addOption(jsonOption()),
    ['cpub deploy', 'cpub deploy ./hello --strict', 'cpub deploy --no-wait', 'cpub deploy --canary 10% --for 10m'],
  ).action(async (dirArg: string | undefined, opts: { server?: string; strict?: boolean; wait: boolean; json?: boolean; canary?: string; for?: string }) => {
    if (opts.for !== undefined && opts.canary === undefined) throw new CliError('--for without --canary', '--for is the window of a canary: give --canary <percent> too (e.g. --canary 10% --for 10m)', 2);
    const canaryQuery = opts.canary === undefined ? '' : `?canary=${parseShare(opts.canary, '--canary')}${opts.for === undefined ? '' : `&canaryWindowMs=${parseDuration(opts.for, '--for')}`}`;
    const dir = resolve(dirArg ?? '.');
    const api = ctx.api(opts);
    const { readManifest, pack } = await packing();
    let manifest: Record<string, unknown>;
    try {
      manifest = readManifest(dir) as unknown as Record<string, unknown>;
    } catch (err) {
      throw new CliError('not a function folder', (err as Error).message);
    }
    manifest.name ??= basename(dir);
    report(analyse(dir), Boolean(opts.strict));
    const bundling = spinner('bundling');
    let packed: Packed;
    try {
      packed = await pack(dir);
    } finally {
      bundling.stop();
    }
    console.error(`bundled ${String(manifest.name)}: ${formatBytes(packed.bundleBytes)} (${formatBytes(packed.bytes.length)} packed, sha256 ${packed.digest.slice(0, 12)})`);
    const fn = await ensureFunction(api, manifest);
    const bar = uploadBar(packed.bytes.length);
    const res = await api.send('POST', `/api/functions/${enc(fn.name)}/deployments${canaryQuery}`, { raw: { bytes: packed.bytes, contentType: 'application/gzip', onProgress: bar.update } });
    bar.done();
    let deployment = (await api.json<{ deployment: DeploymentView }>(res)).deployment;
    if (!opts.wait) {
      if (opts.json) return printJson({ deployment, function: fn });
      return console.log(`uploaded ${fn.name} v${deployment.version}: building${canaryQuery ? ' as a canary' : ''} (follow with: cpub deployments ${fn.name})`);
    }
    deployment = await followBuild(api, fn.name, deployment);
    const after = (await api.request<{ function: FunctionView }>('GET', `/api/functions/${enc(fn.name)}`)).function;
    const canary = canaryQuery ? (await api.request<{ canaries: CanaryView[] }>('GET', `/api/functions/${enc(fn.name)}/canaries`)).canaries.find((c) => c.version === deployment.version) : undefined;
    if (opts.json) printJson({ deployment, function: after, ...(canaryQuery ? { canary: canary ?? null } : {}) });
    if (deployment.status === 'failed') throw new CliError('build failed', `${fn.name} v${deployment.version}: ${deployment.error ?? 'see the build log above'};${after.activeVersion ? ` v${after.activeVersion} stays active` : ' the function has no active version yet'}`);
    if (opts.json) return;
    if (!canary) return console.log(`${color.green('deployed')} ${fn.name} v${deployment.version} → ${absoluteUrl(api, after.url)}`);
    console.log(`${color.green('deployed')} ${fn.name} v${deployment.version} as a canary → ${absoluteUrl(api, after.url)}`);
    printCanary(fn.name, canary);
    console.log(`follow it with: cpub canary status ${fn.name}; end it early with cpub canary promote|abort ${fn.name}`);
  });

  examples(withServerJson(program.command('status [dir]').description('compare the folder with what is deployed: up to date, changed, or never deployed')), ['cpub status', 'cpub status ./hello --json']).action(
    async (dirArg: string | undefined, opts: { server?: string; json?: boolean }) => {
      const dir = resolve(dirArg ?? '.');
      const api = ctx.api(opts);
      const packed = await (await packing()).pack(dir);
      const name = packed.manifest.name ?? basename(dir);
      let state: 'up-to-date' | 'changed' | 'never-deployed' = 'never-deployed';
      let active: DeploymentView | undefined;
      try {
        const fn = (await api.request<{ function: FunctionView }>('GET', `/api/functions/${enc(name)}`)).function;
        if (fn.activeVersion !== null) {
          active = (await api.request<{ deployment: DeploymentDetail }>('GET', `/api/functions/${enc(name)}/deployments/${fn.activeVersion}`)).deployment;
          state = active.digest === packed.digest ? 'up-to-date' : 'changed';
        }
      } catch (err) {
        if (!(err instanceof ApiError && err.status === 404)) throw err;
      }
      if (opts.json) return printJson({ name, state, localDigest: packed.digest, deployedDigest: active?.digest ?? null, activeVersion: active?.version ?? null });
      const words = { 'up-to-date': color.green(`up to date (v${active?.version})`), changed: color.yellow(`changed since v${active?.version}: run cpub deploy`), 'never-deployed': color.yellow('never deployed: run cpub deploy') };
      console.log(`${name}: ${words[state]}`);
    },
  );
}

/** Streams the build log under a spinner until the build ends; returns the deployment as it ended. */
async function followBuild(api: ApiClient, name: string, d: DeploymentView): Promise<DeploymentView> {
  const spin = spinner(`building ${name} v${d.version}`);
  try {
    const res = await api.send('GET', `/api/functions/${enc(name)}/deployments/${d.version}/logs?follow=true`);
    if (!res.ok) await api.json(res);
    if ((res.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
      for await (const e of readEvents(res)) {
        if (e.event === 'log') spin.line(e.data);
        if (e.event === 'done') break;
      }
    } else {
      for (const l of (await res.text()).split('\n').filter(Boolean)) spin.line(l);
    }
  } finally {
    spin.stop();
  }
  for (;;) {
    const now = (await api.request<{ deployment: DeploymentDetail }>('GET', `/api/functions/${enc(name)}/deployments/${d.version}`)).deployment;
    if (now.status !== 'building') return now;
    await new Promise((r) => setTimeout(r, 300));
  }
}
