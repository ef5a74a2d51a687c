// Canaries: a version of a function gets `percent` of live's calls for a window (a split of live, aliases/), is
// judged every second against the active version over the same minutes (canary-judge.ts on the rollups), and is
// promoted when its window ends, or rolled back on its own as soon as it is worse. Its containers are warmed before
// any call moves. A canary starts from a deploy (`?canary=10&canaryWindowMs=600000`: the build then does not make
// the version active) or for a ready version (`POST …/canaries`). One replica at a time judges (the `canaries`
// lease); every move is a compare-and-set on the row's state, in the transaction that changes live.
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { CanaryRow, Database, FunctionRow, User } from '../db/schema.js';
import type { Logger } from '../../../common/logger.js';
import type { CanaryView } from '../../../common/api-types.js';
import type { FunctionLookup } from '../functions/functions.service.js';
import { functionsRepo } from '../functions/functions.repo.js';
import { deploymentsRepo, endLiveSplit } from '../deployments/deployments.repo.js';
import { aliasesRepo } from '../aliases/aliases.repo.js';
import { auditRepo, type AuditEvent } from '../audit/audit.repo.js';
import type { Leases } from '../maintenance/lease.js';
import { Conflict, Invalid, NotFound } from '../errors.js';
import { canariesRepo } from './canaries.repo.js';
import { judge, type Seen } from './canary-judge.js';

/** How often running canaries are judged. */
const EVERY_MS = 1000;
/** A ready canary still `building` this long after its build (the replica that built it died before starting it) is started by the judge. */
const STUCK_MS = 30_000;
/** How long a canary waits for a warm container of its version before its calls move (they start one if none is up). */
const WARM_WAIT_MS = 15_000;
/** A canary's window when a deploy does not say. */
export const DEFAULT_CANARY_WINDOW_MS = 600_000;
export const CANARY_LIMITS = { percent: { min: 1, max: 99 }, windowMs: { min: 10_000, max: 86_400_000 } };

export interface CanaryInput {
  percent: number;
  windowMs: number;
}

export interface CanariesDeps {
  db: Kysely<Database>;
  functions: FunctionLookup;
  log: Logger;
  leases?: Leases;
  /** Warms `count` containers of the version across the fleet; resolves with how many are ready. */
  warmUp: (fn: FunctionRow, version: number, count: number) => Promise<number>;
  /** Containers of a version warm across the fleet now (the nodes' heartbeats). */
  warmCount: (functionId: string, version: number) => number;
  /** Live changed (a split set or ended, a version made active). */
  onChanged: (functionId: string) => void;
}

export function toCanaryView(r: CanaryRow): CanaryView {
  const at = (ms: number | null) => (ms === null ? null : new Date(Number(ms)).toISOString());
  return {
    id: r.id,
    version: r.version,
    baseline: r.baseline,
    percent: r.percent,
    windowMs: Number(r.window_ms),
    state: r.state,
    reason: r.reason,
    seen: r.seen ? (JSON.parse(r.seen) as Seen) : null,
    createdAt: at(r.created_at)!,
    startedAt: at(r.started_at),
    endsAt: at(r.ends_at),
    finishedAt: at(r.finished_at),
  };
}

export class CanariesService {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  /** Canaries being started here (`<function>@<version>`): the judge does not start one twice. */
  private readonly beginning = new Set<string>();
  private stopped = false;

  constructor(private readonly d: CanariesDeps) {}

  async list(user: User, ref: string): Promise<CanaryView[]> {
    const fn = await this.d.functions.find(user, ref, 'functions:read');
    return (await canariesRepo.list(this.d.db, fn.id, 50)).map(toCanaryView);
  }

  /** Refuses a canary the function cannot have now (400/409), before an upload is read. */
  async check(fn: FunctionRow, input: CanaryInput): Promise<void> {
    checkInput(input);
    if (fn.active_version === null) throw Conflict('no_baseline', `${fn.name} has no active version for a canary to be compared with: deploy its first version without --canary`);
    const open = await canariesRepo.open(this.d.db, fn.id);
    if (open) throw Conflict('canary_under_way', `${fn.name} has a canary of v${open.version} under way (${open.state}); promote or abort it first`);
    if ((await aliasesRepo.get(this.d.db, fn.id, 'live'))?.weights) throw Conflict('live_split', `live of ${fn.name} is split already; end the split (cpub aliases split ${fn.name} live --off) before a canary`);
  }

  /** Records a canary of a version being deployed: its build then does not make it active, and it starts once built. */
  async forDeploy(fn: FunctionRow, version: number, input: CanaryInput, user: User): Promise<CanaryView> {
    const row = newRow(fn, version, input, user.id);
    await this.insert(fn, row);
    return toCanaryView(row);
  }

  /** Inserts a canary; another one under way (started meanwhile, maybe by another replica) is a 409. */
  private async insert(fn: FunctionRow, row: CanaryRow): Promise<void> {
    try {
      await canariesRepo.insert(this.d.db, row);
    } catch (err) {
      const open = await canariesRepo.open(this.d.db, fn.id);
      if (open) throw Conflict('canary_under_way', `${fn.name} has a canary of v${open.version} under way (${open.state}); promote or abort it first`);
      throw err;
    }
  }

  /** Starts a canary of a ready version now. */
  async start(user: User, ref: string, input: CanaryInput & { version: number }): Promise<CanaryView> {
    const fn = await this.d.functions.find(user, ref, 'functions:deploy');
    await this.check(fn, input);
    if (input.version === fn.active_version) throw Invalid('version_active', `v${input.version} is the active version already`, { field: 'version' });
    const dep = await deploymentsRepo.deployment(this.d.db, fn.id, input.version);
    if (dep?.status !== 'ready') throw Invalid('version_not_ready', `${fn.name} has no ready version ${input.version}`, { field: 'version' });
    const row = newRow(fn, input.version, input, user.id);
    await this.insert(fn, row);
    await this.begin(fn.id, input.version);
    return toCanaryView((await canariesRepo.get(this.d.db, row.id))!);
  }

  /** Whether a version just built must stay inactive: it was deployed as a canary. */
  async holds(functionId: string, version: number): Promise<boolean> {
    return (await this.d.db.selectFrom('canaries').select('id').where('function_id', '=', functionId).where('version', '=', version).executeTakeFirst()) !== undefined;
  }

  /**
   * Starts a built canary: warms its containers (as many as the active version has, scaled by its share, at least
   * one; waiting up to WARM_WAIT_MS for one to be up), then splits live and starts its window — unless, meanwhile,
   * another version became active or live was split (checked again in the transaction that splits it).
   */
  async begin(functionId: string, version: number): Promise<void> {
    if (this.beginning.has(`${functionId}@${version}`)) return;
    this.beginning.add(`${functionId}@${version}`);
    try {
      await this.beginOnce(functionId, version);
    } finally {
      this.beginning.delete(`${functionId}@${version}`);
    }
  }

  private async beginOnce(functionId: string, version: number): Promise<void> {
    const row = await canariesRepo.building(this.d.db, functionId, version);
    const fn = row && (await functionsRepo.byIdOfActiveOwner(this.d.db, functionId));
    if (!row || !fn) return;
    if (fn.active_version !== row.baseline) {
      await this.finish(fn, row, 'building', 'aborted', `v${fn.active_version} became active while it was built`);
      return;
    }
    const count = Math.max(1, Math.ceil((this.d.warmCount(fn.id, row.baseline) * row.percent) / 100));
    await this.d.warmUp(fn, version, count).catch(() => 0);
    for (const end = Date.now() + WARM_WAIT_MS; this.d.warmCount(fn.id, version) < 1 && Date.now() < end && !this.stopped; ) await new Promise((r) => setTimeout(r, 250));
    const ready = this.d.warmCount(fn.id, version);
    const now = Date.now();
    const moved = await this.d.db.transaction().execute(async (tx) => {
      const current = await functionsRepo.byId(tx, fn.id);
      if (current?.active_version !== row.baseline || (await aliasesRepo.get(tx, fn.id, 'live'))?.weights) return false;
      if (!(await canariesRepo.move(tx, row.id, 'building', { state: 'running', started_at: now, ends_at: now + Number(row.window_ms) }))) return false;
      await aliasesRepo.put(tx, { function_id: fn.id, name: 'live', version: row.baseline, weights: JSON.stringify({ [row.baseline]: 100 - row.percent, [version]: row.percent }), sticky: null, min_instances: null, created_at: now, updated_at: now });
      await audit(tx, 'canary_started', fn, row, { warm: ready });
      return true;
    });
    if (!moved) {
      // Not started: say why, unless another replica started it.
      const fresh = await functionsRepo.byId(this.d.db, fn.id);
      if (fresh && fresh.active_version !== row.baseline) await this.finish(fn, row, 'building', 'aborted', `v${fresh.active_version} became active while it was warmed`);
      else if (fresh) await this.finish(fn, row, 'building', 'aborted', 'live was split while it was warmed');
      return;
    }
    this.d.onChanged(fn.id);
    this.d.log.info({ function: fn.id, name: fn.name, version, baseline: row.baseline, percent: row.percent, windowMs: Number(row.window_ms), warm: ready }, 'canary started');
  }

  /** Ends the function's canary now: `promote` makes it active, else it is aborted (live returns to the active version). */
  async end(user: User, ref: string, promote: boolean): Promise<CanaryView> {
    const fn = await this.d.functions.find(user, ref, 'functions:deploy');
    const row = await canariesRepo.open(this.d.db, fn.id);
    if (!row) throw NotFound('no_canary', `${fn.name} has no canary under way`);
    if (promote && row.state !== 'running') throw Conflict('canary_building', `the canary of v${row.version} is still building; it can be promoted once it runs`);
    const ok = promote ? await this.finish(fn, row, 'running', 'promoted', `promoted by ${user.email} before its window ended`) : await this.finish(fn, row, row.state, 'aborted', `aborted by ${user.email}`);
    if (!ok) throw Conflict('canary_moved', 'the canary ended meanwhile; see its state');
    return toCanaryView((await canariesRepo.get(this.d.db, row.id))!);
  }

  startJudging(): void {
    this.timer = setInterval(() => void this.tick(), EVERY_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
  }

  /** One pass of the judge over every canary under way (one pass at a time). */
  tick(): Promise<void> {
    if (this.running || this.stopped) return this.running ?? Promise.resolve();
    this.running = this.pass()
      .catch((err) => this.d.log.warn({ err }, 'judging canaries failed'))
      .finally(() => (this.running = undefined));
    return this.running;
  }

  private async pass(): Promise<void> {
    const open = await canariesRepo.allOpen(this.d.db);
    if (!open.length || (this.d.leases && !(await this.d.leases.acquire('canaries', 5 * EVERY_MS)))) return;
    // Running canaries first: one failing must not wait for another's start.
    for (const row of [...open].sort((a, b) => Number(a.state !== 'running') - Number(b.state !== 'running'))) {
      const fn = await functionsRepo.byId(this.d.db, row.function_id);
      if (!fn) continue;
      // A disabled owner's functions answer no one: their canaries end, nothing is promoted on no evidence.
      if (!(await functionsRepo.byIdOfActiveOwner(this.d.db, fn.id))) await this.finish(fn, row, row.state, 'aborted', 'its owner was disabled');
      else if (row.state === 'building') await this.building(fn, row);
      else await this.judgeOne(fn, row);
    }
  }

  private async building(fn: FunctionRow, row: CanaryRow): Promise<void> {
    const dep = await deploymentsRepo.deployment(this.d.db, fn.id, row.version);
    if (!dep || dep.status === 'failed') await this.finish(fn, row, 'building', 'failed', `its build failed${dep?.error ? `: ${dep.error}` : ''}`);
    // Started behind the pass: a warm-up must not hold up judging the running ones.
    else if (dep.status === 'ready' && Date.now() - Number(dep.finished_at ?? 0) > STUCK_MS) void this.begin(fn.id, row.version).catch((err) => this.d.log.warn({ err }, 'starting a canary failed'));
  }

  private async judgeOne(fn: FunctionRow, row: CanaryRow): Promise<void> {
    if (fn.active_version !== row.baseline) return void (await this.finish(fn, row, 'running', 'aborted', `v${fn.active_version} became active`));
    const live = await aliasesRepo.get(this.d.db, fn.id, 'live');
    const weights = live?.weights ? (JSON.parse(live.weights) as Record<string, number>) : {};
    if (!weights[row.version]) return void (await this.finish(fn, row, 'running', 'aborted', 'the split of live was changed'));
    const n = await canariesRepo.numbers(this.d.db, fn.id, [row.version, row.baseline], Number(row.started_at));
    const seen: Seen = { canary: n.get(row.version)!, baseline: n.get(row.baseline)! };
    const verdict = judge(seen, Date.now() >= Number(row.ends_at));
    if (verdict.action === 'wait') return canariesRepo.setSeen(this.d.db, row.id, JSON.stringify(seen));
    await this.finish(fn, row, 'running', verdict.action === 'promote' ? 'promoted' : 'rolled_back', verdict.reason, seen);
  }

  /** Ends a canary (compare-and-set from `from`) with what that means for live, in one transaction; whether this did. */
  private async finish(fn: FunctionRow, row: CanaryRow, from: CanaryRow['state'], to: 'promoted' | 'rolled_back' | 'aborted' | 'failed', reason: string, seen?: Seen): Promise<boolean> {
    const now = Date.now();
    const done = await this.d.db.transaction().execute(async (tx) => {
      if (!(await canariesRepo.move(tx, row.id, from, { state: to, reason, finished_at: now, ...(seen ? { seen: JSON.stringify(seen) } : {}) }))) return false;
      if (to === 'promoted') {
        // Only over the version it was compared with: a deploy or rollback since then stays (the canary is aborted).
        if (!(await deploymentsRepo.activateIf(tx, fn.id, row.version, row.baseline, now))) {
          await canariesRepo.move(tx, row.id, 'promoted', { state: 'aborted', reason: 'another version became active before it could be promoted' });
          await audit(tx, 'canary_aborted', fn, row, { reason: 'another version became active before it could be promoted' });
          return true;
        }
      } else if (from === 'running') await endLiveSplit(tx, fn.id);
      const event: AuditEvent = to === 'promoted' ? 'canary_promoted' : to === 'rolled_back' ? 'canary_rolled_back' : to === 'failed' ? 'canary_failed' : 'canary_aborted';
      await audit(tx, event, fn, row, { reason });
      return true;
    });
    if (!done) return false;
    this.d.onChanged(fn.id);
    const log = { function: fn.id, name: fn.name, version: row.version, baseline: row.baseline, reason };
    if (to === 'rolled_back' || to === 'failed') this.d.log.warn(log, `canary ${to.replace('_', ' ')}`);
    else this.d.log.info(log, `canary ${to}`);
    return true;
  }
}

function checkInput(input: CanaryInput): void {
  const { percent, windowMs } = CANARY_LIMITS;
  if (!Number.isInteger(input.percent) || input.percent < percent.min || input.percent > percent.max) throw Invalid('invalid_canary', `a canary's share is a whole percent, ${percent.min}–${percent.max}`, { field: 'percent' });
  if (!Number.isInteger(input.windowMs) || input.windowMs < windowMs.min || input.windowMs > windowMs.max) throw Invalid('invalid_canary', `a canary's window is 10 s to 24 h`, { field: 'windowMs' });
}

function newRow(fn: FunctionRow, version: number, input: CanaryInput, userId: string): CanaryRow {
  return { id: randomUUID(), function_id: fn.id, version, baseline: fn.active_version!, percent: input.percent, window_ms: input.windowMs, state: 'building', reason: null, seen: null, created_by: userId, created_at: Date.now(), started_at: null, ends_at: null, finished_at: null };
}

function audit(db: Parameters<typeof auditRepo.record>[0], event: AuditEvent, fn: FunctionRow, row: CanaryRow, detail: Record<string, string | number>): Promise<void> {
  return auditRepo.record(db, { event, actorId: row.created_by, subjectId: fn.owner_id, teamId: fn.owner_id, target: `function:${fn.name}`, detail: { function: fn.name, functionId: fn.id, version: row.version, baseline: row.baseline, percent: row.percent, ...detail } });
}
