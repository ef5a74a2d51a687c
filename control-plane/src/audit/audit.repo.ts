// The audit log: who did what to which account, from where and when. Never holds a secret.
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
  | 'canary_failed';

export interface AuditRecord {
  event: AuditEvent;
  actorId?: string | null;
  subjectId?: string | null;
  clientIp?: string | null;
  detail?: Record<string, string | number | boolean | null>;
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
