// Reading the audit trail: a team's (its admins and owners), or the whole server's (server administrators), newest
// first, filtered by event, actor, target and time.
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { Forbidden, NotFound } from '../errors.js';
import { decodeCursor, encodeCursor } from '../http/cursor.js';
import { auditRepo, type AuditFilter } from './audit.repo.js';
import { teamsRepo } from '../teams/teams.repo.js';
import { memberOf, type SignedIn } from '../teams/access.js';
import type * as api from '../../../common/api-types.js';

export interface AuditQuery {
  event?: string | undefined;
  /** An actor's email. */
  actor?: string | undefined;
  target?: string | undefined;
  since?: string | undefined;
  until?: string | undefined;
  limit: number;
  cursor?: string | undefined;
}

export class AuditService {
  constructor(private readonly db: Kysely<Database>) {}

  /** A team's trail: needs audit:read there. */
  async forTeam(user: SignedIn, handle: string, q: AuditQuery): Promise<{ entries: api.AuditEntryView[]; nextCursor: string | null }> {
    const m = await memberOf(this.db, user, handle, 'audit:read');
    return this.search({ ...(await this.filter(q)), teamId: m.id }, q);
  }

  /** The server's whole trail (account events too), for administrators; `team` narrows it to one. */
  async all(user: SignedIn, q: AuditQuery & { team?: string | undefined }): Promise<{ entries: api.AuditEntryView[]; nextCursor: string | null }> {
    if (user.role !== 'admin') throw Forbidden('admin_only', 'this needs an administrator');
    if (user.scopes && !user.scopes.includes('audit:read')) throw Forbidden('scope_missing', `this token's scopes (${user.scopes.join(', ')}) do not include audit:read`);
    let teamId: string | undefined;
    if (q.team !== undefined) {
      const t = await teamsRepo.byHandle(this.db, q.team);
      if (!t) throw NotFound('team_not_found', `no team ${q.team}`);
      teamId = t.id;
    }
    return this.search({ ...(await this.filter(q)), teamId }, q);
  }

  private async filter(q: AuditQuery): Promise<AuditFilter> {
    let actorId: string | undefined;
    if (q.actor !== undefined) {
      const a = await this.db.selectFrom('users').select('id').where('email', '=', q.actor.toLowerCase()).executeTakeFirst();
      actorId = a?.id ?? '-';
    }
    return { event: q.event, actorId, target: q.target, since: q.since ? Date.parse(q.since) : undefined, until: q.until ? Date.parse(q.until) : undefined };
  }

  private async search(f: AuditFilter, q: AuditQuery) {
    const rows = await auditRepo.search(this.db, f, q.limit + 1, q.cursor ? decodeCursor(q.cursor) : undefined);
    const shown = rows.slice(0, q.limit);
    const last = shown[shown.length - 1];
    const json = (v: string | null) => (v === null ? null : (JSON.parse(v) as unknown));
    return {
      entries: shown.map((r) => ({
        id: r.id,
        at: new Date(Number(r.at)).toISOString(),
        event: r.event,
        // A team's account acts only through its service tokens.
        actor: r.actor_kind === 'team' ? `service token of ${r.actor_handle}` : r.actor_email,
        team: r.team_handle,
        target: r.target,
        before: json(r.before),
        after: json(r.after),
        detail: json(r.detail) as Record<string, unknown>,
        clientIp: r.client_ip,
      })),
      nextCursor: rows.length > q.limit && last ? encodeCursor(Number(last.at), last.id) : null,
    };
  }
}
