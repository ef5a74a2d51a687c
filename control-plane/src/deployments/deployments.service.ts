// A function's versions: deploy (upload → content-addressed artifact → version row → build on an agent), list,
// read, roll back, follow a build's log; and, for calls, the active version (cached) and its image on an agent.
import type { QuotaKeeper } from '../teams/quotas.js';
import type { SignedIn } from '../teams/access.js';
import { auditRepo, functionChange } from '../audit/audit.repo.js';
import type { Permission } from '../teams/roles.js';
import type { CanaryView } from '../../../common/api-types.js';
import type { CanaryInput } from '../canaries/canaries.service.js';
import type { Kysely } from 'kysely';
import type { Database, DeploymentRow, FunctionRow, User } from '../db/schema.js';
import type { Logger } from '../../../common/logger.js';
import type { Fleet } from '../fleet/fleet.service.js';
import type { AgentLink } from '../fleet/agent-link.js';
import { AppError, Conflict, Invalid, NotFound } from '../errors.js';
import type { ArtifactStore, StagedArtifact } from '../artifacts/artifact-store.js';
import type { FunctionsService } from '../functions/functions.service.js';
import type { FunctionView } from '../functions/functions.view.js';
import { deploymentsRepo } from './deployments.repo.js';
import { toDeploymentView, type DeploymentView } from './deployments.view.js';
import type { Builder, BuildEvent } from './builder.js';

export interface DeploymentsDeps {
  db: Kysely<Database>;
  /** The teams' quotas (versions per function, artifact storage). */
  quotas?: () => Pick<QuotaKeeper, 'checkKept'>;
  functions: FunctionsService;
  builder: Builder;
  artifacts: ArtifactStore;
  fleet: Fleet;
  log: Logger;
  /** Called when the active version changes: warm containers must not serve the old one. */
  onChanged?: (functionId: string) => void;
  /** A version deployed as a canary (canaries/): checked before the upload is read, recorded with its deployment. */
  canaries?: {
    check(fn: FunctionRow, input: CanaryInput): Promise<void>;
    forDeploy(fn: FunctionRow, version: number, input: CanaryInput, user: User): Promise<CanaryView>;
  };
}

/** A build's log as text, or (still building, with `follow`) its lines as they come and then its end. */
export type BuildLog = { text: string } | { events: AsyncIterable<BuildEvent> };

/** How often a followed build's row is read again: a build on another replica sends no events here. */
const FOLLOW_POLL_MS = 2000;

export class DeploymentsService {
  /** Ready versions by `<function id>@<version>`: a call needs its image name on every call. */
  private readonly ready = new Map<string, DeploymentRow>();

  constructor(private readonly d: DeploymentsDeps) {}

  /**
   * A new version from an upload: checked as it streams, stored by digest (fsynced) and recorded before this
   * returns; the build runs on an agent. With `wait`, resolves once the build ended, and a failed build is a 422.
   * One whose declared size is over the cap is refused (413) before its body is read.
   */
  async deploy(user: User, ref: string, body: AsyncIterable<Uint8Array>, wait: boolean, declaredBytes?: number, canary?: CanaryInput): Promise<DeploymentView & { canary?: CanaryView }> {
    const f = await this.d.functions.find(user, ref, 'functions:deploy');
    if (canary) {
      if (!this.d.canaries) throw Invalid('canaries_unavailable', 'this server runs no canaries');
      await this.d.canaries.check(f, canary);
    }
    this.d.artifacts.admit(declaredBytes);
    const quotas = this.d.quotas?.();
    await quotas?.checkKept(f.owner_id, 'versionsPerFunction', async () => deploymentsRepo.count(this.d.db, f.id), 1);
    const stored = async () => Math.ceil((await deploymentsRepo.teamBytes(this.d.db, f.owner_id)) / 2 ** 20);
    if (declaredBytes !== undefined) await quotas?.checkKept(f.owner_id, 'artifactMb', stored, Math.ceil(declaredBytes / 2 ** 20));
    const staged: StagedArtifact = await this.d.artifacts.stage(body);
    try {
      await quotas?.checkKept(f.owner_id, 'artifactMb', stored, Math.ceil(staged.sizeBytes / 2 ** 20));
    } catch (err) {
      this.d.artifacts.discard(staged);
      throw err;
    }
    let version: number;
    try {
      this.d.artifacts.commit(staged);
      await this.d.artifacts.share(staged.digest);
      version = await deploymentsRepo.takeVersion(this.d.db, f.id);
      const now = Date.now();
      await this.d.db.transaction().execute(async (tx) => {
        await deploymentsRepo.insertDeployment(tx, {
        function_id: f.id,
        version,
        digest: staged.digest,
        size_bytes: staged.sizeBytes,
        entry: staged.manifest.entry,
        runtime: typeof staged.manifest.runtime === 'string' ? staged.manifest.runtime : 'node',
        status: 'building',
        image: null,
        node_id: null,
        error: null,
        created_at: now,
        finished_at: null,
      });
        await auditRepo.record(tx, functionChange(user, f, 'deployed', { after: { version, digest: staged.digest, sizeBytes: staged.sizeBytes, ...(canary ? { canaryPercent: canary.percent } : {}) } }), now);
      });
    } catch (err) {
      this.d.artifacts.discard(staged);
      throw err;
    }
    // Recorded before the build starts: the build sees it and leaves the version inactive. A canary started meanwhile
    // (the check passed for both) fails this version instead of letting its build make it active.
    const canaryView =
      canary &&
      (await this.d.canaries!.forDeploy(f, version, canary, user).catch(async (err: unknown) => {
        await deploymentsRepo.finishDeployment(this.d.db, f.id, version, { status: 'failed', build_log: '', error: (err as Error).message, finished_at: Date.now() });
        throw err;
      }));
    const build = this.d.builder.build(f.id, version, staged.digest, staged.sizeBytes);
    if (wait) await build;
    const dep = (await deploymentsRepo.deployment(this.d.db, f.id, version))!;
    const fresh = await this.d.functions.find(user, f.id, 'functions:deploy');
    const view = toDeploymentView(dep, fresh.active_version);
    if (wait && dep.status === 'failed') {
      throw new AppError('invalid', 'build_failed', dep.error ?? 'the build failed', { httpStatus: 422, deployment: view, buildLogTail: dep.build_log.slice(-4000) });
    }
    return canaryView ? { ...view, canary: canaryView } : view;
  }

  async list(user: User, ref: string, limit: number, cursor?: string): Promise<{ deployments: DeploymentView[]; nextCursor: string | null }> {
    const f = await this.d.functions.find(user, ref, 'functions:read');
    const before = cursor === undefined ? undefined : Number(cursor);
    if (before !== undefined && !Number.isSafeInteger(before)) throw Invalid('invalid_cursor', 'cursor is not valid', { field: 'cursor' });
    const rows = await deploymentsRepo.deployments(this.d.db, f.id, limit + 1, before);
    const shown = rows.slice(0, limit);
    return { deployments: shown.map((d) => toDeploymentView(d, f.active_version)), nextCursor: rows.length > limit ? String(shown[shown.length - 1]!.version) : null };
  }

  /** One version with its build log. */
  async get(user: User, ref: string, version: number): Promise<DeploymentView & { buildLog: string }> {
    const { fn, dep } = await this.find(user, ref, version, 'functions:read');
    return { ...toDeploymentView(dep, fn.active_version), buildLog: dep.build_log };
  }

  private async find(user: SignedIn, ref: string, version: number, need: Permission): Promise<{ fn: FunctionRow; dep: DeploymentRow }> {
    const fn = await this.d.functions.find(user, ref, need);
    const dep = await deploymentsRepo.deployment(this.d.db, fn.id, version);
    if (!dep) throw NotFound('deployment_not_found', `function ${fn.name} has no version ${version}`);
    return { fn, dep };
  }

  /** Switches the active version to a ready one (calls in flight finish on the old one). */
  async rollback(user: User, ref: string, version: number): Promise<FunctionView> {
    const { fn, dep } = await this.find(user, ref, version, 'functions:deploy');
    if (dep.status !== 'ready') throw Conflict('version_not_ready', `version ${version} is ${dep.status}; only a ready version can be made active`);
    const now = Date.now();
    await this.d.db.transaction().execute(async (tx) => {
      await deploymentsRepo.activate(tx, fn.id, version, now);
      await auditRepo.record(tx, functionChange(user, fn, 'rolled_back', { before: { activeVersion: fn.active_version }, after: { activeVersion: version } }), now);
    });
    this.d.onChanged?.(fn.id);
    return this.d.functions.get(user, fn.id);
  }

  /** A version's build log; with `follow` and the build still running, its lines as they come, then its end. */
  async buildLog(user: User, ref: string, version: number, follow: boolean, signal?: AbortSignal): Promise<BuildLog> {
    if (!follow) return { text: (await this.find(user, ref, version, 'logs:read')).dep.build_log };
    const fn = await this.d.functions.find(user, ref, 'logs:read');
    // Subscribed before the row is read, so the end of a build cannot fall between the two.
    const key = `${fn.id}@${version}`;
    const queue: BuildEvent[] = [];
    let wake: (() => void) | undefined;
    const on = (e: BuildEvent) => {
      queue.push(e);
      wake?.();
    };
    const events = this.d.builder.events;
    events.on(key, on);
    let dep: DeploymentRow;
    try {
      dep = (await this.find(user, fn.id, version, 'logs:read')).dep;
    } catch (err) {
      events.off(key, on);
      throw err;
    }
    if (dep.status !== 'building') {
      events.off(key, on);
      return { text: dep.build_log };
    }
    // Lines that came before the row was read are in its log already.
    for (let i = queue.length - 1; i >= 0; i--) if (queue[i]!.line !== undefined) queue.splice(i, 1);
    const db = this.d.db;
    async function* follow_(): AsyncGenerator<BuildEvent> {
      const poll = setInterval(() => wake?.(), FOLLOW_POLL_MS);
      const stop = () => wake?.();
      signal?.addEventListener('abort', stop);
      try {
        for (const l of dep.build_log.split('\n').filter(Boolean)) yield { line: l };
        for (;;) {
          while (queue.length) {
            const e = queue.shift()!;
            yield e;
            if (e.done !== undefined) return;
          }
          await new Promise<void>((r) => (wake = r));
          if (signal?.aborted) return;
          if (!queue.length) {
            const now = await deploymentsRepo.deployment(db, fn.id, version);
            if (now?.status !== 'building') return void (yield { done: now?.status ?? 'failed' });
          }
        }
      } finally {
        clearInterval(poll);
        signal?.removeEventListener('abort', stop);
        events.off(key, on);
      }
    }
    return { events: follow_() };
  }

  /** The active version when it is cached (no promise on a call's hot path), else undefined: then `active()`. */
  activeCached(fn: FunctionRow): DeploymentRow | undefined {
    return fn.active_version === null ? undefined : this.ready.get(`${fn.id}@${fn.active_version}`);
  }

  /** The function's active version, ready to run: cached until the function changes. */
  async active(fn: FunctionRow): Promise<DeploymentRow> {
    if (fn.active_version === null) throw Conflict('no_ready_version', `function ${fn.name} has no ready version: deploy one first`);
    return this.version(fn, fn.active_version);
  }

  /** One version of the function, ready to run (an alias's): cached until the function changes. */
  async version(fn: FunctionRow, version: number): Promise<DeploymentRow> {
    const key = `${fn.id}@${version}`;
    let dep = this.ready.get(key);
    if (!dep) {
      dep = await deploymentsRepo.deployment(this.d.db, fn.id, version);
      if (!dep || dep.status !== 'ready' || !dep.image) throw Conflict('no_ready_version', `version ${version} of ${fn.name} is not ready`);
      this.ready.set(key, dep);
    }
    return dep;
  }

  /** Makes sure the agent has the version's image (the lazy build; `again`: the agent said it lost it): undefined when it has, else the build. */
  ensureOn(link: AgentLink, dep: DeploymentRow, again = false): Promise<unknown> | undefined {
    return this.d.builder.ensureOn(link, dep, again);
  }

  /** Drops what is cached about a function (its versions changed). */
  forget(functionId: string): void {
    for (const k of this.ready.keys()) if (k.startsWith(`${functionId}@`)) this.ready.delete(k);
  }

  /** Before a function is deleted: the cleanup of its containers, images and artifacts once it is gone. */
  async beforeDelete(functionId: string): Promise<() => Promise<void>> {
    const digests = await deploymentsRepo.digestsOf(this.d.db, functionId);
    return async () => {
      try {
        await this.d.builder.settle(functionId);
        await this.d.fleet.removeEverywhere(functionId);
        const inUse = await deploymentsRepo.digestsInUse(this.d.db);
        const removed = this.d.artifacts.collect(inUse, digests);
        await this.d.artifacts.unshare(digests, inUse);
        this.d.log.info({ function: functionId, artifactsRemoved: removed }, 'function deleted');
      } catch (err) {
        this.d.log.warn({ err }, 'cleaning up a deleted function failed');
      }
    };
  }
}
