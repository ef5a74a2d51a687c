// Builds versions on agents: a new version once, on the replica holding its lease (another resumes it if that one
// dies), with its startup check; and a version an agent lacks, lazily, before a call is sent there (concurrent
// first calls share one build). Build log lines go out as events for `…/logs?follow=true`.
import { EventEmitter } from 'node:events';
import type { Kysely } from 'kysely';
import type { Database, DeploymentRow, FunctionRow } from '../db/schema.js';
import type { Logger } from '../../../common/logger.js';
import type { Fleet } from '../fleet/fleet.service.js';
import { builtKey, type AgentLink } from '../fleet/agent-link.js';
import type { Leases } from '../maintenance/lease.js';
import { NotFound, Unavailable } from '../errors.js';
import type { ArtifactStore } from '../artifacts/artifact-store.js';
import { deploymentsRepo } from './deployments.repo.js';

const BUILD_LOG_CAP = 64 * 1024;
const BUILD_TIMEOUT_MS = 5 * 60_000;
/** A build's lease, renewed every third of this while it runs. */
const BUILD_LEASE_MS = 30_000;

/** A build log line (`line`), or the build's end (`done`: the version's status). */
export type BuildEvent = { line: string; done?: undefined } | { done: string; line?: undefined };

export interface BuilderDeps {
  db: Kysely<Database>;
  fleet: Fleet;
  artifacts: ArtifactStore;
  log: Logger;
  /** Told about a version that became the active one. */
  onActivated?: (functionId: string) => void;
  /** Whether a version, once built, must not be made active (a canary's); `onHeld` then starts it. */
  holdsActivation?: (functionId: string, version: number) => Promise<boolean>;
  onHeld?: (functionId: string, version: number) => Promise<void>;
  /** Told about every build that ended (metrics). */
  onBuild?: (durationMs: number, ok: boolean) => void;
  /** How long a build waits for an agent before it fails (CPUB_BUILD_AGENT_WAIT; 60 s). */
  agentWaitMs?: number;
  /** With several replicas: a build is run by the replica holding its lease. */
  leases?: Leases;
  /** A function's env and decrypted secrets, for the startup check of a new version. */
  envOf: (functionId: string) => Promise<Record<string, string>>;
  /** A function by id, whoever owns it (the functions service): its settings for the startup check. */
  functionById: (functionId: string) => Promise<FunctionRow | undefined>;
}

export class Builder {
  private resumer: NodeJS.Timeout | undefined;
  /** Build events per `<function id>@<version>`. */
  readonly events = new EventEmitter();
  private readonly builds = new Map<string, Promise<void>>();
  /** Lazy builds under way per agent and image, so concurrent first calls share one. */
  private readonly onAgent = new Map<string, Promise<unknown>>();

  constructor(private readonly d: BuilderDeps) {
    this.events.setMaxListeners(0);
  }

  /** Shares old artifacts with the other replicas, resumes builds no one runs now, then looks every half lease. */
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

  /** Waits for the builds in progress (of one function, or all: for a deletion, shutdown and tests). */
  async settle(functionId?: string): Promise<void> {
    await Promise.allSettled([...this.builds].filter(([key]) => functionId === undefined || key.startsWith(`${functionId}@`)).map(([, run]) => run));
  }

  /**
   * Builds cut short (a restart, a replica that died) are started again: their artifacts are on disk, or in the
   * database with several replicas. One whose lease another replica holds is being built right now: left to it.
   */
  private async resumeOrphans(): Promise<void> {
    for (const d of await deploymentsRepo.building(this.d.db)) {
      if (this.builds.has(`${d.function_id}@${d.version}`)) continue;
      if (this.d.leases && !(await this.d.leases.acquire(`build:${d.function_id}@${d.version}`, BUILD_LEASE_MS))) continue;
      this.d.log.info({ function: d.function_id, version: d.version }, 'resuming a build no one finished');
      void this.build(d.function_id, d.version, d.digest, Number(d.size_bytes));
    }
  }

  /** Builds a version on an agent, once per replica at a time; never rejects (the outcome is in the row). */
  build(functionId: string, version: number, digest: string, sizeBytes: number): Promise<void> {
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
   * The build runs on the replica holding its lease. Until this one holds it, it watches the row; it builds only
   * while the row still says `building`, so a build that ended meanwhile is never run again.
   */
  private async runBuild(functionId: string, version: number, digest: string, sizeBytes: number, key: string): Promise<void> {
    const lease = `build:${key}`;
    // (A lease that cannot be read is no reason to refuse the build: at worst it runs twice, and is recorded once.)
    const take = async () => !this.d.leases || (await this.d.leases.acquire(lease, BUILD_LEASE_MS).catch(() => true));
    let runtime: string;
    for (;;) {
      const mine = await take();
      const d = await deploymentsRepo.deployment(this.d.db, functionId, version);
      if (!d || d.status !== 'building') {
        if (mine) await this.d.leases?.release(lease).catch(() => {});
        return void this.events.emit(key, { done: d?.status ?? 'failed' });
      }
      runtime = d.runtime;
      if (mine) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    let log = '';
    const line = (text: string) => {
      if (log.length < BUILD_LOG_CAP) log += `${text}\n`;
      this.events.emit(key, { line: text });
    };
    const t0 = Date.now();
    let held = true;
    const renew = this.d.leases && setInterval(() => void take().then((ok) => (held &&= ok)), BUILD_LEASE_MS / 3);
    try {
      const link = await this.waitForAgent(functionId, version, digest, runtime);
      line(`building version ${version} on node ${link.nodeId}`);
      // The new version is started once with its settings and env before it can go live (the startup check).
      const fn = await this.d.functionById(functionId);
      if (!fn) throw NotFound('function_not_found', 'the function was deleted while its version was building');
      const startupCheck = {
        functionName: fn.name,
        limits: { memoryMb: fn.memory_mb, cpus: fn.cpus, timeoutMs: fn.timeout_ms, concurrency: fn.concurrency, maxInstances: fn.max_instances, network: fn.network === 'egress' },
        env: Object.entries(await this.d.envOf(functionId)).map(([name, value]) => ({ name, value })),
      };
      const r = await link.build({ functionId, version, digest, sizeBytes, file: await this.d.artifacts.local(digest), timeoutMs: BUILD_TIMEOUT_MS, startupCheck }, line);
      // A lease lost meanwhile means another replica may be building it too: whichever records first wins.
      if (!held) line('this replica lost the build lease while building; the result counts only if no one recorded one');
      const recorded = await deploymentsRepo.finishDeployment(this.d.db, functionId, version, { status: 'ready', image: r.image, node_id: link.nodeId, build_log: log, finished_at: Date.now() });
      if (recorded) {
        const held = (await this.d.holdsActivation?.(functionId, version)) ?? false;
        const active = !held && (await deploymentsRepo.activateIfNewest(this.d.db, functionId, version, Date.now()));
        line(held ? `version ${version} is ready: a canary, it gets its share of calls once its containers are warm` : active ? `version ${version} is ready and active` : `version ${version} is ready (a newer version stays active)`);
        await deploymentsRepo.setBuildLog(this.d.db, functionId, version, log);
        if (active) this.d.onActivated?.(functionId);
        if (held) await this.d.onHeld?.(functionId, version).catch((err) => this.d.log.warn({ err, functionId, version }, 'starting a canary failed'));
      }
      this.d.onBuild?.(Date.now() - t0, true);
      const status = recorded ? 'ready' : ((await deploymentsRepo.deployment(this.d.db, functionId, version))?.status ?? 'failed');
      this.events.emit(key, { done: status });
    } catch (err) {
      const message = (err as { detail?: string }).detail ?? (err as Error).message;
      line(`build failed: ${message}`);
      await deploymentsRepo
        .finishDeployment(this.d.db, functionId, version, { status: 'failed', build_log: log, error: message, finished_at: Date.now() })
        .catch((e) => this.d.log.warn({ err: e }, 'recording a failed build failed'));
      this.d.onBuild?.(Date.now() - t0, false);
      this.events.emit(key, { done: 'failed' });
    } finally {
      clearInterval(renew);
      await this.d.leases?.release(lease).catch(() => {});
    }
  }

  /** The node to build on: placed like a call (the most free memory, ties spread, its runtime there), waiting for one to be up. */
  private async waitForAgent(functionId: string, version: number, digest: string, runtime: string): Promise<AgentLink> {
    const end = Date.now() + (this.d.agentWaitMs ?? 60_000);
    for (;;) {
      const [link] = await this.d.fleet.candidates({ functionId, version, digest, memoryMb: 0, concurrency: 1, runtime });
      if (link) return link;
      if (Date.now() > end) throw Unavailable('no_agent', 'no agent is up to build on');
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  /**
   * Makes sure the agent has the version's image before a call goes there (`again`: it said it lost it):
   * undefined when it has (no promise on a call's hot path), else the build to wait for.
   */
  ensureOn(link: AgentLink, dep: DeploymentRow, again = false): Promise<unknown> | undefined {
    const key = builtKey(dep.function_id, dep.digest);
    if (again) link.built.delete(key);
    if (link.built.has(key)) return undefined;
    const flight = `${link.nodeId}/${key}`;
    let build = this.onAgent.get(flight);
    if (!build) {
      build = this.d.artifacts
        .local(dep.digest)
        .then((file) => link.build({ functionId: dep.function_id, version: dep.version, digest: dep.digest, sizeBytes: Number(dep.size_bytes), file, timeoutMs: BUILD_TIMEOUT_MS }, () => {}))
        .finally(() => this.onAgent.delete(flight));
      this.onAgent.set(flight, build);
    }
    return build;
  }
}
