// Functions themselves: create, list, read, change, delete, and the lookups every other feature starts from
// (by id, or by name in a team of the caller's; by URL for a call). A function belongs to a team: another team's
// is a 404 everywhere, and what the caller's role may not do is a 403 (teams/access.ts authorize).
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database, FunctionRow, TeamRole } from '../db/schema.js';
import { AppError, Invalid, NotFound } from '../errors.js';
import { authorize, memberOf, type SignedIn } from '../teams/access.js';
import type { Permission } from '../teams/roles.js';
import { teamsRepo } from '../teams/teams.repo.js';
import type { QuotaKeeper } from '../teams/quotas.js';
import { auditRepo, functionChange, picked } from '../audit/audit.repo.js';
import { decodeCursor, page } from '../http/cursor.js';
import { functionsRepo } from './functions.repo.js';
import { aliasesRepo } from '../aliases/aliases.repo.js';
import { DEFAULTS, NAME, retentionMs, toFunctionView, type FunctionView } from './functions.view.js';
import { mergeRetry, type RetryInput } from '../async-calls/retry.js';
import { newDestinationSecret, storedDestinations, type AddressGuard } from '../async-calls/destinations.js';
import type { Sealer } from '../secrets/crypto.js';

export interface FunctionSettingsInput {
  memoryMb?: number | undefined;
  cpus?: number | undefined;
  timeoutMs?: number | undefined;
  concurrency?: number | undefined;
  maxInstances?: number | undefined;
  auth?: 'private' | 'key' | 'public' | undefined;
  network?: 'none' | 'egress' | undefined;
  executionRetention?: string | null | undefined;
  executionSampling?: number | null | undefined;
  asyncConcurrency?: number | null | undefined;
  queueTimeoutMs?: number | null | undefined;
  responseLimitMb?: number | null | undefined;
  requestLimitMb?: number | null | undefined;
  minInstances?: number | undefined;
  viewerInvoke?: boolean | undefined;
  retry?: RetryInput | null | undefined;
  destinations?: { onSuccess?: string | null | undefined; onFailure?: string | null | undefined } | undefined;
}

/** A function as one of its team's members sees it: with their role there and the team's handle. */
export type TeamFunction = FunctionRow & { role: TeamRole; teamHandle: string };

/** How other features find the caller's function (deployments, executions, keys, env, stats). */
export interface FunctionLookup {
  /**
   * The function by id (in any of the caller's teams) or name (in the request's team), if the caller's role there
   * allows `need`: another team's is not found (function_not_found), a role that may not is a 403.
   */
  find(user: SignedIn, ref: string, need: Permission): Promise<TeamFunction>;
  /** The request's team (a handle; undefined: the personal team) if the caller's role there allows `need`. */
  teamOf(user: SignedIn, handle: string | undefined, need: Permission): Promise<{ id: string; handle: string }>;
}

export interface FunctionsDeps {
  db: Kysely<Database>;
  publicUrl?: string | undefined;
  /** Checks destination URLs as they are set, and seals the secret deliveries are signed with. */
  destinations?: { guard: AddressGuard; sealer: Sealer };
  /** Called when a function's settings change: warm containers must not serve the old ones. */
  onChanged?: (functionId: string) => void;
  /**
   * Called before a function's row is deleted (its versions, executions, keys and env go with it): resolves with
   * the cleanup to run once it is gone (containers, images, artifacts).
   */
  onDelete?: (functionId: string) => Promise<() => Promise<void>>;
  /** The teams' quotas (functions, a warm floor's memory). */
  quotas?: () => Pick<QuotaKeeper, 'checkKept'>;
}

/** Lookups for calls are cached this long: a call looks its function up every time. */
const CALL_CACHE_MS = 1000;

export class FunctionsService implements FunctionLookup {
  private readonly byUrlCache = new Map<string, { at: number; row: (FunctionRow & { handle: string }) | undefined }>();
  private readonly forCallCache = new Map<string, { at: number; row: TeamFunction }>();

  constructor(private readonly d: FunctionsDeps) {}

  /** `find(…, 'invoke')` for a call: the same answer, from the one-second cache. */
  async findForCall(user: SignedIn, ref: string): Promise<TeamFunction> {
    const key = `${user.id}/${user.team ?? ''}/${ref}`;
    const hit = this.forCallCache.get(key);
    const now = Date.now();
    if (hit && now - hit.at < CALL_CACHE_MS) {
      authorize(user, { role: hit.row.role, handle: hit.row.teamHandle }, 'invoke', hit.row.viewer_invoke === 1);
      return hit.row;
    }
    const row = await this.find(user, ref, 'invoke');
    if (this.forCallCache.size > 10_000) this.forCallCache.clear();
    this.forCallCache.set(key, { at: now, row });
    return row;
  }

  /** The function at `/fn/<handle>/<name>` (its owner not disabled), from the one-second cache. */
  async byUrl(handle: string, name: string): Promise<(FunctionRow & { handle: string }) | undefined> {
    const key = `${handle}/${name}`;
    const hit = this.byUrlCache.get(key);
    const now = Date.now();
    if (hit && now - hit.at < CALL_CACHE_MS) return hit.row;
    const row = await functionsRepo.findByHandleAndName(this.d.db, handle, name);
    if (this.byUrlCache.size > 10_000) this.byUrlCache.clear();
    this.byUrlCache.set(key, { at: now, row });
    return row;
  }

  /**
   * Whether the person may invoke this function (found by its URL): false when they are not in its team (the
   * caller then gets a 404); a 403 when they are but their role may not.
   */
  async mayInvoke(user: SignedIn, fn: FunctionRow): Promise<boolean> {
    try {
      await this.findForCall({ ...user, team: undefined }, fn.id);
      return true;
    } catch (err) {
      if (err instanceof AppError && err.kind === 'not_found') return false;
      throw err;
    }
  }

  /** The function an API key is for, unless its owner is disabled. */
  byIdOfActiveOwner(id: string): Promise<FunctionRow | undefined> {
    return functionsRepo.byIdOfActiveOwner(this.d.db, id);
  }

  /** By id, whoever owns it: for background work (builds), never for a request. */
  byId(id: string): Promise<FunctionRow | undefined> {
    return functionsRepo.byId(this.d.db, id);
  }

  /** Drops what is cached about a function (it changed here). */
  forget(functionId: string): void {
    for (const [k, v] of this.byUrlCache) if (v.row?.id === functionId) this.byUrlCache.delete(k);
    for (const [k, v] of this.forCallCache) if (v.row.id === functionId) this.forCallCache.delete(k);
  }

  /** Creates it in `input.team` (a handle; else the request's team, else the personal one): needs functions:write there. */
  async create(user: SignedIn, input: { name: string; team?: string | undefined } & FunctionSettingsInput): Promise<FunctionView> {
    if (!NAME.test(input.name)) throw Invalid('invalid_name', 'name must match ^[a-z][a-z0-9-]{0,62}$', { field: 'name' });
    const team = await this.teamOf(user, input.team ?? user.team, 'functions:write');
    floorFits(input.minInstances ?? 0, input.maxInstances ?? DEFAULTS.maxInstances);
    const quotas = this.d.quotas?.();
    await quotas?.checkKept(team.id, 'functions', async () => teamsRepo.countFunctions(this.d.db, team.id), 1);
    if (input.minInstances) await quotas?.checkKept(team.id, 'memoryMb', async () => 0, input.minInstances * (input.memoryMb ?? DEFAULTS.memoryMb));
    const now = Date.now();
    const row = {
      id: randomUUID(),
      owner_id: team.id,
      name: input.name,
      memory_mb: input.memoryMb ?? DEFAULTS.memoryMb,
      cpus: input.cpus ?? DEFAULTS.cpus,
      timeout_ms: input.timeoutMs ?? DEFAULTS.timeoutMs,
      concurrency: input.concurrency ?? DEFAULTS.concurrency,
      max_instances: input.maxInstances ?? DEFAULTS.maxInstances,
      auth: input.auth ?? DEFAULTS.auth,
      network: input.network ?? DEFAULTS.network,
      execution_retention_ms: input.executionRetention ? retentionMs(input.executionRetention) : null,
      execution_sample_rate: input.executionSampling ?? null,
      async_concurrency: input.asyncConcurrency ?? null,
      queue_timeout_ms: input.queueTimeoutMs ?? null,
      response_limit_mb: input.responseLimitMb ?? null,
      request_limit_mb: input.requestLimitMb ?? null,
      min_instances: input.minInstances || null,
      viewer_invoke: input.viewerInvoke ? 1 : 0,
      retry: input.retry ? JSON.stringify(input.retry) : null,
      destinations: null as string | null,
      destination_secret: null as string | null,
      active_version: null,
      created_at: now,
      updated_at: now,
    };
    if (input.destinations) Object.assign(row, this.destinationsSet(row.id, null, null, input.destinations));
    await this.d.db.transaction().execute(async (tx) => {
      await functionsRepo.insert(tx, row);
      const { team: _team, ...settings } = input;
      await auditRepo.record(tx, functionChange(user, row, 'function_created', { after: settings }), now);
    });
    return this.get(user, row.id);
  }

  /** The request's team (a handle; undefined: the personal team) if the caller's role there allows `need`. */
  async teamOf(user: SignedIn, handle: string | undefined, need: Permission): Promise<{ id: string; handle: string }> {
    const m = await memberOf(this.d.db, user, handle, need);
    return { id: m.id, handle: m.handle };
  }

  /** The functions of the request's team, newest first. */
  async list(user: SignedIn, limit: number, cursor?: string): Promise<{ functions: FunctionView[]; nextCursor: string | null }> {
    const team = await this.teamOf(user, user.team, 'functions:read');
    const rows = await functionsRepo.list(this.d.db, team.id, limit + 1, cursor ? decodeCursor(cursor) : undefined);
    const p = page(rows, limit, (f) => f.id, (f) => toFunctionView(f, team.handle, this.d.publicUrl));
    return { functions: p.items, nextCursor: p.nextCursor };
  }

  async find(user: SignedIn, ref: string, need: Permission): Promise<TeamFunction> {
    const found = await functionsRepo.findForMember(this.d.db, user.id, ref, user.team);
    if (!found) {
      if (user.team !== undefined && !(await teamsRepo.membership(this.d.db, user.id, user.team))) throw NotFound('team_not_found', `no team ${user.team} of yours`);
      throw NotFound('function_not_found', `no function ${ref}`);
    }
    const { member_role: role, team_handle: teamHandle, ...f } = found;
    authorize(user, { role, handle: teamHandle }, need, f.viewer_invoke === 1);
    return { ...f, role, teamHandle };
  }

  async get(user: SignedIn, ref: string): Promise<FunctionView> {
    return this.view(await this.find(user, ref, 'functions:read'));
  }

  async update(user: SignedIn, ref: string, patch: FunctionSettingsInput): Promise<FunctionView> {
    const f = await this.find(user, ref, 'functions:write');
    const set: Parameters<typeof functionsRepo.update>[2] = { updated_at: Date.now() };
    floorFits(patch.minInstances ?? f.min_instances ?? 0, patch.maxInstances ?? f.max_instances);
    // A warm floor is memory kept: within the team's memory quota.
    const floor = patch.minInstances ?? f.min_instances ?? 0;
    if (floor && (patch.minInstances !== undefined || patch.memoryMb !== undefined)) await this.d.quotas?.().checkKept(f.owner_id, 'memoryMb', async () => 0, floor * (patch.memoryMb ?? f.memory_mb));
    if (patch.maxInstances !== undefined) {
      // An alias's warm floor must fit under the cap too.
      const over = (await aliasesRepo.list(this.d.db, f.id)).find((a) => (a.min_instances ?? 0) > patch.maxInstances!);
      if (over) throw Invalid('min_over_max', `alias ${over.name} keeps a warm floor of ${over.min_instances}, more than maxInstances ${patch.maxInstances}: lower its floor first`, { field: 'maxInstances' });
    }
    if (patch.memoryMb !== undefined) set.memory_mb = patch.memoryMb;
    if (patch.cpus !== undefined) set.cpus = patch.cpus;
    if (patch.timeoutMs !== undefined) set.timeout_ms = patch.timeoutMs;
    if (patch.concurrency !== undefined) set.concurrency = patch.concurrency;
    if (patch.maxInstances !== undefined) set.max_instances = patch.maxInstances;
    if (patch.auth !== undefined) set.auth = patch.auth;
    if (patch.network !== undefined) set.network = patch.network;
    if (patch.executionRetention !== undefined) set.execution_retention_ms = patch.executionRetention === null ? null : retentionMs(patch.executionRetention);
    if (patch.executionSampling !== undefined) set.execution_sample_rate = patch.executionSampling;
    if (patch.asyncConcurrency !== undefined) set.async_concurrency = patch.asyncConcurrency;
    if (patch.queueTimeoutMs !== undefined) set.queue_timeout_ms = patch.queueTimeoutMs;
    if (patch.responseLimitMb !== undefined) set.response_limit_mb = patch.responseLimitMb;
    if (patch.requestLimitMb !== undefined) set.request_limit_mb = patch.requestLimitMb;
    if (patch.minInstances !== undefined) set.min_instances = patch.minInstances || null;
    if (patch.viewerInvoke !== undefined) set.viewer_invoke = patch.viewerInvoke ? 1 : 0;
    // The parts of the policy given change; the others keep what was set (null: back to the default).
    if (patch.retry !== undefined) set.retry = patch.retry === null ? null : JSON.stringify(mergeRetry(f.retry, patch.retry));
    if (patch.destinations !== undefined) Object.assign(set, this.destinationsSet(f.id, f.destinations, f.destination_secret, patch.destinations));
    const before = picked(this.view(f), patch);
    await this.d.db.transaction().execute(async (tx) => {
      await functionsRepo.update(tx, f.id, set);
      const after = picked(this.view({ ...f, ...(await functionsRepo.byId(tx, f.id))! }), patch);
      await auditRepo.record(tx, functionChange(user, f, 'function_updated', { before, after }), set.updated_at!);
    });
    // The next call carries the new settings; agents recycle warm containers made with the old ones.
    this.d.onChanged?.(f.id);
    return this.get(user, f.id);
  }

  /** The columns for destinations changed by `given` (a URL checked against the address rules; null clears one); a secret made with the first. */
  private destinationsSet(id: string, stored: string | null, secret: string | null, given: NonNullable<FunctionSettingsInput['destinations']>): { destinations: string | null; destination_secret?: string } {
    const next = { ...storedDestinations(stored) };
    for (const k of ['onSuccess', 'onFailure'] as const) {
      const url = given[k];
      if (url === undefined) continue;
      if (url !== null) {
        if (!this.d.destinations) throw Invalid('destinations_unavailable', 'this server sends no destinations');
        const why = this.d.destinations.guard.urlError(url);
        if (why) throw Invalid('destination_not_allowed', `destinations.${k}: ${why}`, { field: `destinations.${k}` });
      }
      next[k] = url;
    }
    const any = next.onSuccess !== null || next.onFailure !== null;
    return { destinations: any ? JSON.stringify(next) : null, ...(any && !secret ? { destination_secret: this.d.destinations!.sealer.seal(newDestinationSecret(), `destination:${id}`) } : {}) };
  }

  /** Deletes the function and everything of it: versions, executions, keys, env (cascade), then containers, images, artifacts. */
  async delete(user: SignedIn, ref: string): Promise<void> {
    const f = await this.find(user, ref, 'functions:write');
    const cleanup = await this.d.onDelete?.(f.id);
    const now = Date.now();
    await this.d.db.transaction().execute(async (tx) => {
      await functionsRepo.delete(tx, f.id, now);
      await auditRepo.record(tx, functionChange(user, f, 'function_deleted', { before: { activeVersion: f.active_version } }), now);
    });
    this.d.onChanged?.(f.id);
    void cleanup?.();
  }

  view(f: TeamFunction): FunctionView {
    return toFunctionView(f, f.teamHandle, this.d.publicUrl);
  }
}

/** The warm floor is within the cap: minInstances ≤ maxInstances (a 400 naming minInstances otherwise). */
function floorFits(min: number, max: number): void {
  if (min > max) throw Invalid('min_over_max', `minInstances (${min}) is more than maxInstances (${max}): the floor must fit under the cap`, { field: 'minInstances' });
}
