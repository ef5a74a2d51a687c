// The function page's form actions: each runs on the user's function and answers with the line the page then
// shows (dashboard.routes.tsx's `action` redirects back to the page with it, or with the error's detail).
import type { Context } from 'hono';
import { parseWeights, STICKY } from '../../../common/weights.js';
import type { Features } from '../http/features.js';
import { Invalid } from '../errors.js';
import { LIMITS } from '../functions/functions.view.js';
import type { FunctionRow } from '../db/schema.js';
import { EnvValue } from '../env/env.routes.js';
import type { UiEnv } from './session.js';
import { when } from './ui.js';
import { duration } from '../../../common/settings.js';

type Form = Record<string, string>;
export type Action = (path: string, run: (c: Context<UiEnv>, fn: FunctionRow, f: Form) => Promise<string>) => void;

export function functionActions(action: Action, features: Features): void {
  const { functions: fns, deployments, env, keys, deadLetters, schedules, aliases, canaries } = features;
  action('rollback', async (c, fn, f) => {
    const version = Number(f.version);
    if (!Number.isSafeInteger(version) || version < 1) throw Invalid('invalid_version', 'pick a version to roll back to', { field: 'version' });
    const v = await deployments.rollback(c.get('user'), fn.id, version);
    return `Rolled back: v${v.activeVersion} is active.`;
  });
  action('settings', async (c, fn, f) => {
    const num = (k: string) => (f[k] === undefined || f[k] === '' ? undefined : Number(f[k]));
    const parsed = {
      memoryMb: num('memoryMb'),
      cpus: num('cpus'),
      timeoutMs: num('timeoutMs'),
      concurrency: num('concurrency'),
      maxInstances: num('maxInstances'),
      auth: LIMITS.auth.safeParse(f.auth).data,
      network: LIMITS.network.safeParse(f.network).data,
    };
    for (const [k, v] of Object.entries(parsed)) {
      const check = (LIMITS as Record<string, { safeParse(x: unknown): { success: boolean } }>)[k]!;
      if (v !== undefined && !check.safeParse(v).success) throw Invalid('invalid_setting', `${k}: out of bounds`, { field: k });
    }
    await fns.update(c.get('user'), fn.id, parsed);
    return 'Settings saved: new containers use them.';
  });
  action('env', async (c, fn, f) => {
    const key = f.key ?? '';
    if (!EnvValue.safeParse(f.value ?? '').success) throw Invalid('invalid_env_value', `the value of ${key} is over 32 KiB`, { field: 'value' });
    await env.set(c.get('user'), fn.id, f.secret ? {} : { [key]: f.value ?? '' }, f.secret ? { [key]: f.value ?? '' } : {});
    return `${key} set${f.secret ? ' (secret)' : ''}.`;
  });
  action('env/unset', async (c, fn, f) => {
    await env.unset(c.get('user'), fn.id, f.key ?? '');
    return `${f.key} unset.`;
  });
  action('dead-letters/:id/replay', async (c, fn) => {
    const r = await deadLetters.replay(c.get('user'), fn.id, c.req.param('id')!);
    return `Replayed as call ${r.executionId.slice(0, 8)}.`;
  });
  action('dead-letters/:id/delete', async (c, fn) => {
    await deadLetters.remove(c.get('user'), fn.id, c.req.param('id')!);
    return 'Dead letter deleted.';
  });
  action('schedules', async (c, fn, f) => {
    let payload: unknown;
    try {
      payload = f.payload ? JSON.parse(f.payload) : undefined;
    } catch {
      throw Invalid('invalid_payload', 'the payload is not JSON', { field: 'payload' });
    }
    const s = await schedules.create(c.get('user'), fn.id, { cron: f.cron ?? '', timezone: f.timezone || 'UTC', payload, overlap: f.overlap === 'queue' ? 'queue' : 'skip', catchUp: 'none', paused: false });
    return `Schedule added: next run ${when(s.nextRunAt)}.`;
  });
  for (const [verb, paused] of [['pause', true], ['resume', false]] as const) action(`schedules/:id/${verb}`, async (c, fn) => (await schedules.update(c.get('user'), fn.id, c.req.param('id')!, { paused }), `Schedule ${verb}d.`));
  action('schedules/:id/delete', async (c, fn) => (await schedules.remove(c.get('user'), fn.id, c.req.param('id')!), 'Schedule deleted.'));
  action('aliases', async (c, fn, f) => {
    const name = f.name ?? '';
    const version = Number((f.version ?? '').replace(/^v/, ''));
    if (!Number.isInteger(version) || version < 1) throw Invalid('invalid_version', 'the version is a number', { field: 'version' });
    const user = c.get('user');
    const exists = name === 'live' || (await aliases.list(user, fn.id)).some((a) => a.name === name);
    const a = exists ? await aliases.update(user, fn.id, name, { version }) : await aliases.create(user, fn.id, { name, version });
    return `${a.name} → v${a.version}.`;
  });
  action('aliases/split', async (c, fn, f) => {
    const parts = (f.weights ?? '').split(/[\s,]+/).filter(Boolean);
    const weights = parseWeights(parts, (part) => Invalid('invalid_weights', `a weight is <version>=<percent> (1=90 2=10); got ${part}`, { field: 'weights' }));
    const sticky = f.sticky ? f.sticky : null;
    if (sticky !== null && !STICKY.test(sticky)) throw Invalid('invalid_sticky', 'sticky is header:<name> or cookie:<name>', { field: 'sticky' });
    const a = await aliases.update(c.get('user'), fn.id, f.name ?? '', { weights, sticky });
    return `${a.name} split: ${Object.entries(a.weights ?? {}).map(([v, w]) => `v${v} ${w}%`).join(', ')}.`;
  });
  action('aliases/:alias/unsplit', async (c, fn) => (await aliases.update(c.get('user'), fn.id, c.req.param('alias')!, { weights: null }), 'Split ended.'));
  action('aliases/:alias/delete', async (c, fn) => (await aliases.remove(c.get('user'), fn.id, c.req.param('alias')!), 'Alias deleted.'));
  action('keys/:keyId/revoke', async (c, fn) => {
    await keys.revoke(c.get('user'), fn.id, c.req.param('keyId')!);
    return 'Key revoked.';
  });
  action('scaling', async (c, fn, f) => {
    const n = (f.minInstances ?? '').trim() === '' ? NaN : Number(f.minInstances);
    if (!LIMITS.minInstances.safeParse(n).success) throw Invalid('invalid_setting', 'the warm floor is a number of containers, 0–100', { field: 'minInstances' });
    await fns.update(c.get('user'), fn.id, { minInstances: n });
    return n ? `Warm floor set: ${n} containers kept started.` : 'Warm floor removed: containers start on demand.';
  });
  action('canaries', async (c, fn, f) => {
    const version = Number((f.version ?? '').replace(/^v/, ''));
    if (!Number.isInteger(version) || version < 1) throw Invalid('invalid_version', 'the version is a number', { field: 'version' });
    const windowMs = duration.safeParse((f.window ?? '').trim());
    if (!windowMs.success) throw Invalid('invalid_canary', 'the window is a duration like 10m or 30s', { field: 'windowMs' });
    const r = await canaries.start(c.get('user'), fn.id, { version, percent: Number(f.percent), windowMs: windowMs.data });
    return `Canary started: v${r.version} gets ${r.percent}% of calls until ${when(r.endsAt)}.`;
  });
  action('canaries/promote', async (c, fn) => `Canary promoted: v${(await canaries.end(c.get('user'), fn.id, true)).version} is active.`);
  action('canaries/abort', async (c, fn) => `Canary aborted: live is v${(await canaries.end(c.get('user'), fn.id, false)).baseline} again.`);
}
