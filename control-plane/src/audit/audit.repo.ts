// The audit log: who did what, in which team, to what (with the settings before and after), from where and
// when. Never holds a secret: env changes carry names only, keys their ids and names.
import { randomUUID } from 'node:crypto';
import type { AuditEntry, Executor } from '../db/schema.js';

export type AuditEvent =
  | 'register'
  | 'login_success'
  | 'login_failure'
  | 'login_throttled'
  | 'refresh'
  | 'refresh_reuse_detected'
  | 'logout'
  | 'password_change'
  | 'role_change'
  | 'account_disabled'
  | 'account_enabled'
  | 'account_deleted'
  | 'profile_update'
  | 'canary_started'
  | 'canary_promoted'
  | 'canary_rolled_back'
  | 'canary_aborted'
  | 'canary_failed'
  | 'team_created'
  | 'team_deleted'
  | 'member_invited'
  | 'invitation_revoked'
  | 'invitation_accepted'
  | 'member_role_changed'
  | 'member_removed'
  | 'function_created'
  | 'function_updated'
  | 'function_deleted'
  | 'deployed'
  | 'rolled_back'
  | 'env_set'
  | 'env_unset'
  | 'key_created'
  | 'key_rolled'
  | 'key_revoked'
  | 'alias_created'
  | 'alias_updated'
  | 'alias_deleted'
  | 'schedule_created'
  | 'schedule_updated'
  | 'schedule_deleted'
  | 'quota_changed'
  | 'token_created'
  | 'token_revoked'
  | 'node_drained'
  | 'node_undrained';

export interface AuditRecord {
  event: AuditEvent;
  actorId?: string | null;
  subjectId?: string | null;
  clientIp?: string | null;
  detail?: Record<string, string | number | boolean | null>;
  /** The team it happened in. */
  teamId?: string | null;
  /** What it happened to, as `kind:name` (function:api, member:ann@example.com, key:ci). */
  target?: string | null;
  /** The settings before and after (never a secret value). */
  before?: unknown;
  after?: unknown;
}

/** A change to a function (or something of it) by a person: its team, `function:<name>` unless told, and their address. */
export function functionChange(
  actor: { id: string; ip?: string | null | undefined },
  fn: { id: string; name: string; owner_id: string },
  event: AuditEvent,
  more: { target?: string; before?: unknown; after?: unknown; detail?: AuditRecord['detail'] } = {},
): AuditRecord {
  return { event, actorId: actor.id, teamId: fn.owner_id, target: more.target ?? `function:${fn.name}`, clientIp: actor.ip ?? null, before: more.before, after: more.after, detail: { functionId: fn.id, ...more.detail } };
}

/** The fields of `view` that `patch` names: a change's before or after, without the rest. */
export function picked(view: object, patch: object): Record<string, unknown> {
  const v = view as Record<string, unknown>;
  return Object.fromEntries(Object.keys(patch).filter((k) => (patch as Record<string, unknown>)[k] !== undefined).map((k) => [k, v[k]]));
}

export interface AuditFilter {
  teamId?: string | undefined;
  event?: string | undefined;
  actorId?: string | undefined;
  target?: string | undefined;
  since?: number | undefined;
  until?: number | undefined;
}

export const auditRepo = {
  async record(db: Executor, rec: AuditRecord, now = Date.now()): Promise<void> {
    await db
      .insertInto('audit_log')
      .values({
        id: randomUUID(),
        at: now,
        event: rec.event,
        actor_id: rec.actorId ?? null,
        subject_id: rec.subjectId ?? null,
        client_ip: rec.clientIp ?? null,
        detail: JSON.stringify(rec.detail ?? {}),
        team_id: rec.teamId ?? null,
        target: rec.target ?? null,
        before: rec.before === undefined ? null : JSON.stringify(rec.before),
        after: rec.after === undefined ? null : JSON.stringify(rec.after),
      })
      .execute();
  },

  /** Newest first, after the cursor's position, filtered (teamId undefined: every team and account event). */
  search(db: Executor, f: AuditFilter, limit: number, after?: { createdAt: number; id: string }): Promise<(AuditEntry & { actor_email: string | null; actor_kind: string | null; actor_handle: string | null; team_handle: string | null })[]> {
    let q = db
      .selectFrom('audit_log')
      .leftJoin('users as actor', 'actor.id', 'audit_log.actor_id')
      .leftJoin('users as team', 'team.id', 'audit_log.team_id')
      .selectAll('audit_log')
      .select(['actor.email as actor_email', 'actor.kind as actor_kind', 'actor.handle as actor_handle', 'team.handle as team_handle']);
    if (f.teamId !== undefined) q = q.where('audit_log.team_id', '=', f.teamId);
    if (f.event !== undefined) q = q.where('audit_log.event', '=', f.event);
    if (f.actorId !== undefined) q = q.where('audit_log.actor_id', '=', f.actorId);
    if (f.target !== undefined) q = q.where('audit_log.target', '=', f.target);
    if (f.since !== undefined) q = q.where('audit_log.at', '>=', f.since);
    if (f.until !== undefined) q = q.where('audit_log.at', '<', f.until);
    if (after) q = q.where((eb) => eb.or([eb('audit_log.at', '<', after.createdAt), eb.and([eb('audit_log.at', '=', after.createdAt), eb('audit_log.id', '<', after.id)])]));
    return q.orderBy('audit_log.at', 'desc').orderBy('audit_log.id', 'desc').limit(limit).execute();
  },

  /** Entries older than `before` go (the retention); at most `batch` per call. */
  async purge(db: Executor, before: number, batch: number): Promise<number> {
    const ids = db.selectFrom('audit_log').select('id').where('at', '<', before).limit(batch);
    const r = await db.deleteFrom('audit_log').where('id', 'in', ids).executeTakeFirst();
    return Number(r.numDeletedRows);
  },

  list(db: Executor, opts: { subjectId?: string; event?: AuditEvent; limit?: number } = {}): Promise<AuditEntry[]> {
    let q = db.selectFrom('audit_log').selectAll();
    if (opts.subjectId) q = q.where('subject_id', '=', opts.subjectId);
    if (opts.event) q = q.where('event', '=', opts.event);
    return q.orderBy('at', 'desc').orderBy('id').limit(opts.limit ?? 100).execute();
  },
};
