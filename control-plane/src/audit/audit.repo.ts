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

  list(db: Executor, opts: { subjectId?: string; event?: AuditEvent; limit?: number } = {}): Promise<AuditEntry[]> {
    let q = db.selectFrom('audit_log').selectAll();
    if (opts.subjectId) q = q.where('subject_id', '=', opts.subjectId);
    if (opts.event) q = q.where('event', '=', opts.event);
    return q.orderBy('at', 'desc').orderBy('id').limit(opts.limit ?? 100).execute();
  },
};
