// A function's aliases: named pointers to its versions, managed by its owner, and picked for each call made through
// one (`/fn/<owner>/<name>@<alias>`). `live` is the default alias: the active version (deploy and rollback move
// it), and what the function URL serves; it cannot be deleted, and it may be given a split. Any alias may split its
// calls between versions by weight — at random, or by a hash of the caller's sticky header or cookie, so a caller
// that sends it always gets the same version.
import { auditRepo, functionChange } from '../audit/audit.repo.js';
import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database, FunctionAliasRow, FunctionRow, User } from '../db/schema.js';
import type { FunctionLookup } from '../functions/functions.service.js';
import { Conflict, Invalid, NotFound } from '../errors.js';
import { deploymentsRepo } from '../deployments/deployments.repo.js';
import { aliasesRepo } from './aliases.repo.js';
import type * as api from '../../../common/api-types.js';

export const LIVE = 'live';
export const ALIAS_NAME = /^[a-z][a-z0-9-]{0,31}$/;
/** Aliases one function may have, live's row included. */
export const MAX_ALIASES = 20;
/** How long a replica serves calls from the aliases it read (another replica's change shows within this). */
const CACHE_MS = 1000;

export interface AliasInput {
  name: string;
  version: number;
  weights?: Record<string, number> | null | undefined;
  sticky?: string | null | undefined;
  minInstances?: number | undefined;
}
export type AliasChange = Partial<Omit<AliasInput, 'name'>>;

export function toAliasView(fn: FunctionRow, name: string, row: FunctionAliasRow | undefined): api.AliasView {
  return {
    name,
    version: name === LIVE ? fn.active_version : row!.version,
    weights: row?.weights ? (JSON.parse(row.weights) as Record<string, number>) : null,
    sticky: row?.sticky ?? null,
    minInstances: name === LIVE ? (fn.min_instances ?? 0) : (row?.min_instances ?? 0),
    createdAt: new Date(Number(row?.created_at ?? fn.created_at)).toISOString(),
    updatedAt: new Date(Number(row?.updated_at ?? fn.updated_at)).toISOString(),
  };
}

/** The version a weighted split sends a call to: `bucket` in [0, 100), versions in ascending order. */
export function pickWeighted(weights: Record<string, number>, bucket: number): number {
  const versions = Object.keys(weights).map(Number).sort((a, b) => a - b);
  let at = 0;
  for (const v of versions) {
    at += weights[String(v)]!;
    if (bucket < at) return v;
  }
  return versions[versions.length - 1]!;
}

/** A caller's place in [0, 100) from its sticky value: the same value, the same place (per function). */
export function stickyBucket(functionId: string, value: string): number {
  return createHash('sha256').update(functionId).update('\0').update(value).digest().readUInt32BE(0) % 100;
}

function stickyValue(sticky: string, headers: [string, string][]): string | undefined {
  const [kind, name] = [sticky.slice(0, sticky.indexOf(':')), sticky.slice(sticky.indexOf(':') + 1).toLowerCase()];
  if (kind === 'header') return headers.find(([k]) => k === name)?.[1];
  for (const [k, v] of headers) {
    if (k !== 'cookie') continue;
    for (const part of v.split(';')) {
      const eq = part.indexOf('=');
      if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
    }
  }
  return undefined;
}

export class AliasesService {
  private readonly cache = new Map<string, { rows: Map<string, FunctionAliasRow>; at: number }>();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly functions: FunctionLookup,
  ) {}

  async list(user: User, ref: string): Promise<api.AliasView[]> {
    const fn = await this.functions.find(user, ref, 'functions:read');
    const rows = await aliasesRepo.list(this.db, fn.id);
    const live = rows.find((r) => r.name === LIVE);
    return [toAliasView(fn, LIVE, live), ...rows.filter((r) => r.name !== LIVE).map((r) => toAliasView(fn, r.name, r))];
  }

  async get(user: User, ref: string, name: string): Promise<api.AliasView> {
    const fn = await this.functions.find(user, ref, 'functions:read');
    return toAliasView(fn, name, await this.row(fn, name));
  }

  async create(user: User, ref: string, input: AliasInput): Promise<api.AliasView> {
    const fn = await this.functions.find(user, ref, 'functions:deploy');
    if (!ALIAS_NAME.test(input.name)) throw Invalid('invalid_alias', `alias names match ${ALIAS_NAME.source}`, { field: 'name' });
    if (input.name === LIVE || (await aliasesRepo.get(this.db, fn.id, input.name))) throw Conflict('alias_exists', `${fn.name} has an alias ${input.name} already`);
    if ((await aliasesRepo.count(this.db, fn.id)) >= MAX_ALIASES) throw Conflict('too_many_aliases', `${fn.name} has ${MAX_ALIASES} aliases already; delete one first`);
    await this.ready(fn, input.version, 'version');
    const weights = await this.weights(fn, input.weights);
    floorFits(fn, input.minInstances);
    const now = Date.now();
    const row: FunctionAliasRow = { function_id: fn.id, name: input.name, version: input.version, weights, sticky: input.sticky ?? null, min_instances: input.minInstances || null, created_at: now, updated_at: now };
    await this.db.transaction().execute(async (tx) => {
      await aliasesRepo.insert(tx, row);
      await auditRepo.record(tx, functionChange(user, fn, 'alias_created', { target: `alias:${fn.name}@${row.name}`, after: toAliasView(fn, row.name, row) }), now);
    });
    this.cache.delete(fn.id);
    return toAliasView(fn, row.name, row);
  }

  async update(user: User, ref: string, name: string, change: AliasChange): Promise<api.AliasView> {
    const fn = await this.functions.find(user, ref, 'functions:deploy');
    const row = await this.row(fn, name);
    if (name === LIVE && change.version !== undefined) throw Invalid('live_follows_active', `live is the active version: POST /api/functions/${fn.name}/rollback {"version": ${change.version}} to change it`, { field: 'version' });
    if (change.version !== undefined) await this.ready(fn, change.version, 'version');
    if (name === LIVE && change.minInstances !== undefined) throw Invalid('live_floor', `live's warm floor is the function's: PATCH /api/functions/${fn.name} {"minInstances": ${change.minInstances}}`, { field: 'minInstances' });
    floorFits(fn, change.minInstances);
    const now = Date.now();
    const next: FunctionAliasRow = {
      function_id: fn.id,
      name,
      version: change.version ?? row?.version ?? fn.active_version ?? 0,
      weights: change.weights === undefined ? (row?.weights ?? null) : await this.weights(fn, change.weights),
      sticky: change.sticky === undefined ? (row?.sticky ?? null) : change.sticky,
      min_instances: change.minInstances === undefined ? (row?.min_instances ?? null) : change.minInstances || null,
      created_at: row?.created_at ?? now,
      updated_at: now,
    };
    await this.db.transaction().execute(async (tx) => {
      await aliasesRepo.put(tx, next);
      await auditRepo.record(tx, functionChange(user, fn, 'alias_updated', { target: `alias:${fn.name}@${name}`, before: toAliasView(fn, name, row), after: toAliasView(fn, name, next) }), now);
    });
    this.cache.delete(fn.id);
    return toAliasView(fn, name, next);
  }

  async remove(user: User, ref: string, name: string): Promise<void> {
    const fn = await this.functions.find(user, ref, 'functions:deploy');
    if (name === LIVE) throw Conflict('live_alias', 'live is the function’s default alias: it cannot be deleted (PATCH it with "weights": null to end a split)');
    await this.db.transaction().execute(async (tx) => {
      const before = await aliasesRepo.get(tx, fn.id, name);
      if (!before || !(await aliasesRepo.remove(tx, fn.id, name))) throw NotFound('alias_not_found', `${fn.name} has no alias ${name}`);
      await auditRepo.record(tx, functionChange(user, fn, 'alias_deleted', { target: `alias:${fn.name}@${name}`, before: toAliasView(fn, name, before) }));
    });
    this.cache.delete(fn.id);
  }

  /**
   * The version a call through `alias` runs (undefined: the active version — live without a split). An alias the
   * function does not have is a 404.
   */
  async pick(fn: FunctionRow, alias: string | undefined, headers: [string, string][]): Promise<number | undefined> {
    const rows = await this.rows(fn.id);
    const name = alias ?? LIVE;
    const row = rows.get(name);
    if (!row) {
      if (name === LIVE) return undefined;
      throw NotFound('alias_not_found', `${fn.name} has no alias ${name}`);
    }
    if (!row.weights) return name === LIVE ? undefined : row.version;
    const sticky = row.sticky ? stickyValue(row.sticky, headers) : undefined;
    return pickWeighted(JSON.parse(row.weights) as Record<string, number>, sticky === undefined ? Math.floor(Math.random() * 100) : stickyBucket(fn.id, sticky));
  }

  /** The versions live sends calls to, with their share in percent (the active version alone, without a split). */
  async liveVersions(fn: FunctionRow): Promise<{ version: number; weight: number }[]> {
    const row = (await this.rows(fn.id)).get(LIVE);
    if (row?.weights) return Object.entries(JSON.parse(row.weights) as Record<string, number>).filter(([, w]) => w > 0).map(([v, w]) => ({ version: Number(v), weight: w }));
    return fn.active_version === null ? [] : [{ version: fn.active_version, weight: 100 }];
  }

  /** The function's versions or settings changed here: its aliases are read again. */
  forget(functionId: string): void {
    this.cache.delete(functionId);
  }

  private async rows(functionId: string): Promise<Map<string, FunctionAliasRow>> {
    const hit = this.cache.get(functionId);
    const now = Date.now();
    if (hit && now - hit.at < CACHE_MS) return hit.rows;
    const rows = new Map((await aliasesRepo.list(this.db, functionId)).map((r) => [r.name, r]));
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(functionId, { rows, at: now });
    return rows;
  }

  private async row(fn: FunctionRow, name: string): Promise<FunctionAliasRow | undefined> {
    const row = await aliasesRepo.get(this.db, fn.id, name);
    if (!row && name !== LIVE) throw NotFound('alias_not_found', `${fn.name} has no alias ${name}`);
    return row;
  }

  private async ready(fn: FunctionRow, version: number, field: string): Promise<void> {
    const dep = await deploymentsRepo.deployment(this.db, fn.id, version);
    if (dep?.status !== 'ready') throw Invalid('version_not_ready', `${fn.name} has no ready version ${version}`, { field });
  }

  /** Weights as stored (JSON), each version ready and the percents summing to 100; null clears a split. */
  private async weights(fn: FunctionRow, weights: Record<string, number> | null | undefined): Promise<string | null> {
    if (!weights) return null;
    const entries = Object.entries(weights);
    if (entries.length < 2 || entries.length > 5) throw Invalid('invalid_weights', 'weights name 2 to 5 versions', { field: 'weights' });
    for (const [v, w] of entries) {
      if (!/^[1-9][0-9]{0,8}$/.test(v)) throw Invalid('invalid_weights', `weights: "${v}" is not a version number`, { field: 'weights' });
      if (!Number.isInteger(w) || w < 0 || w > 100) throw Invalid('invalid_weights', `weights: ${v} has ${w}; a weight is a whole percent, 0–100`, { field: 'weights' });
      await this.ready(fn, Number(v), 'weights');
    }
    const sum = entries.reduce((n, [, w]) => n + w, 0);
    if (sum !== 100) throw Invalid('invalid_weights', `weights sum to ${sum}, not 100`, { field: 'weights' });
    return JSON.stringify(Object.fromEntries(entries.sort(([a], [b]) => Number(a) - Number(b)).map(([v, w]) => [v, w])));
  }
}

/** An alias's warm floor fits under the function's cap (a 400 naming minInstances otherwise). */
function floorFits(fn: FunctionRow, min: number | undefined): void {
  if (min !== undefined && min > fn.max_instances) throw Invalid('min_over_max', `minInstances (${min}) is more than the function's maxInstances (${fn.max_instances})`, { field: 'minInstances' });
}
