// Functions and their versions: create, list, read, change, delete; deploy (upload → content-addressed
// artifact → version row → build on an agent) and rollback. Another user's function is a 404 everywhere.
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Kysely } from 'kysely';
import type { Database, DeploymentRow, FunctionRow, User } from '../db/schema.js';
import type { Logger } from '../../../common/logger.js';
import type { Fleet } from '../fleet/fleet.service.js';
import type { Leases } from '../maintenance/lease.js';
import { Conflict, Invalid, NotFound, Unavailable } from '../errors.js';
import { decodeCursor, page } from '../http/cursor.js';
import { functionsRepo } from './functions.repo.js';
import { ArtifactStore, type StagedArtifact } from './artifact-store.js';
import { DEFAULTS, NAME, toDeploymentView, toFunctionView, type DeploymentView, type FunctionView } from './functions.view.js';

const BUILD_LOG_CAP = 64 * 1024;
const BUILD_TIMEOUT_MS = 5 * 60_000;
/** How long a build waits for an agent to be up before it fails. */

export interface FunctionSettingsInput {
  memoryMb?: number | undefined;
  cpus?: number | undefined;
  timeoutMs?: number | undefined;
  concurrency?: number | undefined;
  maxInstances?: number | undefined;
  auth?: 'private' | 'key' | 'public' | undefined;
  network?: 'none' | 'egress' | undefined;
}

export interface FunctionsDeps {
  db: Kysely<Database>;
  fleet: Fleet;
  artifacts: ArtifactStore;
  log: Logger;
  publicUrl?: string | undefined;
  /** Called when a function's settings, env or versions change: warm containers must not serve the old ones. */
  onChanged?: (functionId: string) => void;
  /** Told about every build that ended (metrics). */
  onBuild?: (durationMs: number, ok: boolean) => void;
  /** How long a build waits for an agent before it fails (CPUB_BUILD_AGENT_WAIT; 60 s). */
  agentWaitMs?: number;
  /** With several replicas: a build is run by the replica holding its lease (another resumes it if that one dies). */
  leases?: Leases;
  /** A function's env and decrypted secrets, for the startup check of a new version. */
  envOf: (functionId: string) => Promise<Record<string, string>>;
}

/** A build's lease, renewed every third of this while it runs. */
const BUILD_LEASE_MS = 30_000;

export class FunctionsService {
  private resumer: NodeJS.Timeout | undefined;
  /** Build log lines as they come, per `<function id>@<version>` (for `…/logs?follow=true`). */
  readonly buildEvents = new EventEmitter();
  private readonly builds = new Map<string, Promise<void>>();

  constructor(private readonly d: FunctionsDeps) {
    this.buildEvents.setMaxListeners(0);
  }

  get db(): Kysely<Database> {
    return this.d.db;
  }

  /** Calls look functions up on every call: kept for a second, dropped on any change here. */
  private readonly byUrlCache = new Map<string, { at: number; row: (FunctionRow & { handle: string }) | undefined }>();
  private readonly forCallCache = new Map<string, { at: number; row: FunctionRow }>();

  /** `find` for a call (`POST …/invoke`): the same answer, from the one-second cache. */
  async findForCall(user: User, ref: string): Promise<FunctionRow> {
    const key = `${user.id}/${ref}`;
    const hit = this.forCallCache.get(key);
    const now = Date.now();
    if (hit && now - hit.at < 1000) return hit.row;
    const row = await this.find(user, ref);
    if (this.forCallCache.size > 10_000) this.forCallCache.clear();
    this.forCallCache.set(key, { at: now, row });
    return row;
  }

  async byUrl(handle: string, name: string): Promise<(FunctionRow & { handle: string }) | undefined> {
    const key = `${handle}/${name}`;
    const hit = this.byUrlCache.get(key);
    const now = Date.now();
    if (hit && now - hit.at < 1000) return hit.row;
    const row = await functionsRepo.findByHandleAndName(this.d.db, handle, name);
    if (this.byUrlCache.size > 10_000) this.byUrlCache.clear();
    this.byUrlCache.set(key, { at: now, row });
    return row;
  }

  /** Drops what is cached about a function (it changed here). */
  forget(functionId: string): void {
    for (const [k, v] of this.byUrlCache) if (v.row?.id === functionId) this.byUrlCache.delete(k);
    for (const [k, v] of this.forCallCache) if (v.row.id === functionId) this.forCallCache.delete(k);
  }

  /** Resumes builds no one runs now, at start and then every half lease. */
  async start(): Promise<void> {
    const shared = await this.d.artifacts.backfill();
    if (shared) this.d.log.info({ artifacts: shared }, 'artifacts shared through the database for the other replicas');
    await this.resumeOrphans();
    this.resumer = setInterval(() => void this.resumeOrphans().catch((err) => this.d.log.warn({ err }, 'looking for orphaned builds failed')), BUILD_LEASE_MS / 2);
    this.resumer.unref();
  }

  stop(): void {
    clearInterval(this.resumer);
  }

  /**
   * Builds cut short (a restart, a replica that died) are started again: their artifacts are on disk, or in the
   * database with several replicas. One whose lease another replica holds is being built right now: left to
   * it (a crashed holder's lease expires, and the next look takes it over).
   */
  private async resumeOrphans(): Promise<void> {
    const stuck = await this.d.db.selectFrom('deployments').select(['function_id', 'version', 'digest', 'size_bytes']).where('status', '=', 'building').execute();
    for (const d of stuck) {
      if (this.builds.has(`${d.function_id}@${d.version}`)) continue;
      if (this.d.leases && !(await this.d.leases.acquire(`build:${d.function_id}@${d.version}`, BUILD_LEASE_MS))) continue;
      this.d.log.info({ function: d.function_id, version: d.version }, 'resuming a build no one finished');
      void this.build(d.function_id, d.version, d.digest, Number(d.size_bytes));
    }
  }

  /** Waits for the builds in progress (for shutdown and tests). */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.builds.values()]);
  }

  async create(user: User, input: { name: string } & FunctionSettingsInput): Promise<FunctionView> {
    if (!NAME.test(input.name)) throw Invalid('invalid_name', 'name must match ^[a-z][a-z0-9-]{0,62}$', { field: 'name' });
    const now = Date.now();
    const row = {
      id: randomUUID(),
      owner_id: user.id,
      name: input.name,
      memory_mb: input.memoryMb ?? DEFAULTS.memoryMb,
      cpus: input.cpus ?? DEFAULTS.cpus,
      timeout_ms: input.timeoutMs ?? DEFAULTS.timeoutMs,
      concurrency: input.concurrency ?? DEFAULTS.concurrency,
      max_instances: input.maxInstances ?? DEFAULTS.maxInstances,
      auth: input.auth ?? DEFAULTS.auth,
      network: input.network ?? DEFAULTS.network,
      active_version: null,
      created_at: now,
      updated_at: now,
    };
    await functionsRepo.insert(this.d.db, row);
    return this.view(user, (await functionsRepo.findForOwner(this.d.db, user.id, row.id))!);
  }

  async list(user: User, limit: number, cursor?: string): Promise<{ functions: FunctionView[]; nextCursor: string | null }> {
    const rows = await functionsRepo.list(this.d.db, user.id, limit + 1, cursor ? decodeCursor(cursor) : undefined);
    const p = page(rows, limit, (f) => f.id, (f) => this.view(user, f));
    return { functions: p.items, nextCursor: p.nextCursor };
  }

  /** The caller's function by id or name; anyone else's is not found. */
  async find(user: User, ref: string): Promise<FunctionRow> {
    const f = await functionsRepo.findForOwner(this.d.db, user.id, ref);
    if (!f) throw NotFound('function_not_found', `no function ${ref}`);
    return f;
  }

  async get(user: User, ref: string): Promise<FunctionView> {
    return this.view(user, await this.find(user, ref));
  }

  async update(user: User, ref: string, patch: FunctionSettingsInput): Promise<FunctionView> {
    const f = await this.find(user, ref);
    const set: Parameters<typeof functionsRepo.update>[2] = { updated_at: Date.now() };
    if (patch.memoryMb !== undefined) set.memory_mb = patch.memoryMb;
    if (patch.cpus !== undefined) set.cpus = patch.cpus;
    if (patch.timeoutMs !== undefined) set.timeout_ms = patch.timeoutMs;
    if (patch.concurrency !== undefined) set.concurrency = patch.concurrency;
    if (patch.maxInstances !== undefined) set.max_instances = patch.maxInstances;
    if (patch.auth !== undefined) set.auth = patch.auth;
    if (patch.network !== undefined) set.network = patch.network;
    await functionsRepo.update(this.d.db, f.id, set);
    // The next call carries the new settings; agents recycle warm containers made with the old ones.
    this.d.onChanged?.(f.id);
    return this.get(user, f.id);
  }

  /** Deletes the function and everything of it: versions, executions, keys, env (cascade), containers, images, artifacts. */
  async delete(user: User, ref: string): Promise<void> {
    const f = await this.find(user, ref);
    const digests = await functionsRepo.digestsOf(this.d.db, f.id);
    await functionsRepo.delete(this.d.db, f.id);
    this.d.onChanged?.(f.id);
    void (async () => {
      await Promise.allSettled([...this.builds].filter(([key]) => key.startsWith(`${f.id}@`)).map(([, run]) => run));
      await this.d.fleet.removeEverywhere(f.id);
      const inUse = await functionsRepo.digestsInUse(this.d.db);
      const removed = this.d.artifacts.collect(inUse, digests);
      await this.d.artifacts.unshare(digests, inUse);
      this.d.log.info({ function: f.id, artifactsRemoved: removed }, 'function deleted');
    })().catch((err) => this.d.log.warn({ err }, 'cleaning up a deleted function failed'));
  }

  /**
   * A new version from an uploaded artifact: checked as it streams, stored by digest (fsynced) and recorded
   * before this returns; the build runs on an agent. With `wait`, resolves once the build ended.
   */
  /** A new version from an upload; one whose declared size is over the cap is refused (413) before its body is read. */
  async deploy(user: User, ref: string, body: AsyncIterable<Uint8Array>, wait: boolean, declaredBytes?: number): Promise<{ deployment: DeploymentView; buildLog: string }> {
    const f = await this.find(user, ref);
    this.d.artifacts.admit(declaredBytes);
    const staged: StagedArtifact = await this.d.artifacts.stage(body);
    let version: number;
    try {
      this.d.artifacts.commit(staged);
      await this.d.artifacts.share(staged.digest);
      version = await functionsRepo.takeVersion(this.d.db, f.id);
      await functionsRepo.insertDeployment(this.d.db, {
        function_id: f.id,
        version,
        digest: staged.digest,
        size_bytes: staged.sizeBytes,
        entry: staged.manifest.entry,
        status: 'building',
        image: null,
        node_id: null,
        error: null,
        created_at: Date.now(),
        finished_at: null,
      });
    } catch (err) {
      this.d.artifacts.discard(staged);
      throw err;
    }
    const build = this.build(f.id, version, staged.digest, staged.sizeBytes);
    if (wait) await build;
    const d = (await functionsRepo.deployment(this.d.db, f.id, version))!;
    const fresh = (await functionsRepo.findForOwner(this.d.db, user.id, f.id))!;
    return { deployment: toDeploymentView(d, fresh.active_version), buildLog: d.build_log };
  }

  /** Builds a version on an agent, once per replica at a time; never rejects (the outcome is in the row). */
  private build(functionId: string, version: number, digest: string, sizeBytes: number): Promise<void> {
    const key = `${functionId}@${version}`;
    const under = this.builds.get(key);
    if (under) return under;
    const run = this.runBuild(functionId, version, digest, sizeBytes, key)
      .catch((err) => this.d.log.error({ err, function: functionId, version }, 'a build could not be run or recorded'))
      .finally(() => this.builds.delete(key));
    this.builds.set(key, run);
    return run;
  }

  /**
   * The build runs on the replica holding its lease. Until this one holds it (another replica is building the
   * version, or died building it and its lease has not expired), it watches the row; it builds only while the
   * row still says `building`, so a build that ended meanwhile is never run again.
   */
  private async runBuild(functionId: string, version: number, digest: string, sizeBytes: number, key: string): Promise<void> {
    const lease = `build:${key}`;
    // (A lease that cannot be read is no reason to refuse the build: at worst it runs twice, and is recorded once.)
    const take = async () => !this.d.leases || (await this.d.leases.acquire(lease, BUILD_LEASE_MS).catch(() => true));
    for (;;) {
      const mine = await take();
      const d = await functionsRepo.deployment(this.d.db, functionId, version);
      if (!d || d.status !== 'building') {
        if (mine) await this.d.leases?.release(lease).catch(() => {});
        return void this.buildEvents.emit(key, { done: d?.status ?? 'failed' });
      }
      if (mine) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    let log = '';
    const line = (text: string) => {
      if (log.length < BUILD_LOG_CAP) log += `${text}\n`;
      this.buildEvents.emit(key, { line: text });
    };
    const t0 = Date.now();
    let held = true;
    const renew = this.d.leases && setInterval(() => void take().then((ok) => (held &&= ok)), BUILD_LEASE_MS / 3);
    try {
      const link = await this.waitForAgent(functionId, version, digest);
      line(`building version ${version} on node ${link.nodeId}`);
      // The new version is started once with its settings and env before it can go live (the startup check).
      const fn = await functionsRepo.byId(this.d.db, functionId);
      if (!fn) throw NotFound('function_not_found', 'the function was deleted while its version was building');
      const startupCheck = {
        functionName: fn.name,
        limits: { memoryMb: fn.memory_mb, cpus: fn.cpus, timeoutMs: fn.timeout_ms, concurrency: fn.concurrency, maxInstances: fn.max_instances, network: fn.network === 'egress' },
        env: Object.entries(await this.d.envOf(functionId)).map(([name, value]) => ({ name, value })),
      };
      const r = await link.build({ functionId, version, digest, sizeBytes, file: await this.d.artifacts.local(digest), timeoutMs: BUILD_TIMEOUT_MS, startupCheck }, line);
      // A lease lost meanwhile (the database unreachable for longer than it lasts) means another replica may be
      // building it too: whichever records first wins; the other records nothing.
      if (!held) line('this replica lost the build lease while building; the result counts only if no one recorded one');
      const recorded = await functionsRepo.finishDeployment(this.d.db, functionId, version, { status: 'ready', image: r.image, node_id: link.nodeId, build_log: log, finished_at: Date.now() });
      if (recorded) {
        const active = await functionsRepo.activateIfNewest(this.d.db, functionId, version, Date.now());
        line(active ? `version ${version} is ready and active` : `version ${version} is ready (a newer version stays active)`);
        await functionsRepo.setBuildLog(this.d.db, functionId, version, log);
        if (active) this.d.onChanged?.(functionId);
      }
      this.d.onBuild?.(Date.now() - t0, true);
      const status = recorded ? 'ready' : ((await functionsRepo.deployment(this.d.db, functionId, version))?.status ?? 'failed');
      this.buildEvents.emit(key, { done: status });
    } catch (err) {
      const message = (err as { detail?: string }).detail ?? (err as Error).message;
      line(`build failed: ${message}`);
      await functionsRepo
        .finishDeployment(this.d.db, functionId, version, { status: 'failed', build_log: log, error: message, finished_at: Date.now() })
        .catch((e) => this.d.log.warn({ err: e }, 'recording a failed build failed'));
      this.d.onBuild?.(Date.now() - t0, false);
      this.buildEvents.emit(key, { done: 'failed' });
    } finally {
      clearInterval(renew);
      await this.d.leases?.release(lease).catch(() => {});
    }
  }

  /** The node to build on: placed like a call (the most free memory, ties spread), waiting for one to be up. */
  private async waitForAgent(functionId: string, version: number, digest: string) {
    const end = Date.now() + (this.d.agentWaitMs ?? 60_000);
    for (;;) {
      const [link] = await this.d.fleet.candidates({ functionId, version, digest, memoryMb: 0, concurrency: 1 });
      if (link) return link;
      if (Date.now() > end) throw Unavailable('no_agent', 'no agent is up to build on');
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  async deployments(user: User, ref: string, limit: number, cursor?: string): Promise<{ deployments: DeploymentView[]; nextCursor: string | null }> {
    const f = await this.find(user, ref);
    const before = cursor === undefined ? undefined : Number(cursor);
    if (before !== undefined && !Number.isSafeInteger(before)) throw Invalid('invalid_cursor', 'cursor is not valid', { field: 'cursor' });
    const rows = await functionsRepo.deployments(this.d.db, f.id, limit + 1, before);
    const shown = rows.slice(0, limit);
    return { deployments: shown.map((d) => toDeploymentView(d, f.active_version)), nextCursor: rows.length > limit ? String(shown[shown.length - 1]!.version) : null };
  }

  async deployment(user: User, ref: string, version: number): Promise<{ function: FunctionRow; deployment: DeploymentRow }> {
    const f = await this.find(user, ref);
    const d = await functionsRepo.deployment(this.d.db, f.id, version);
    if (!d) throw NotFound('deployment_not_found', `function ${f.name} has no version ${version}`);
    return { function: f, deployment: d };
  }

  /** Switches the active version to a ready one (calls in flight finish on the old one). */
  async rollback(user: User, ref: string, version: number): Promise<FunctionView> {
    const f = await this.find(user, ref);
    const d = await functionsRepo.deployment(this.d.db, f.id, version);
    if (!d) throw NotFound('deployment_not_found', `function ${f.name} has no version ${version}`);
    if (d.status !== 'ready') throw Conflict('version_not_ready', `version ${version} is ${d.status}; only a ready version can be made active`);
    await functionsRepo.update(this.d.db, f.id, { active_version: version, updated_at: Date.now() });
    this.d.onChanged?.(f.id);
    return this.get(user, f.id);
  }

  view(user: User, f: FunctionRow): FunctionView {
    return toFunctionView(f, user.handle, this.d.publicUrl);
  }
}
