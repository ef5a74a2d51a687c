// Teams: create one, list the caller's, members and their roles, invitations (a token shown once, expiring,
// accepted by the invitee signed in with the invited address), leaving, and deleting a team. Every check goes
// through authorize (access.ts); a team the caller is not in is a 404.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database, TeamRole } from '../db/schema.js';
import { Conflict, Invalid, NotFound } from '../errors.js';
import { auditRepo } from '../audit/audit.repo.js';
import { memberOf, sessionOnly, type SignedIn } from './access.js';
import type { Permission } from './roles.js';
import { teamsRepo, type MembershipRow } from './teams.repo.js';
import type * as api from '../../../common/api-types.js';

export const TEAM_HANDLE = /^[a-z][a-z0-9-]{1,38}$/;
const INVITATION_PREFIX = 'cpi_';
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const iso = (ms: number | null) => (ms === null ? null : new Date(Number(ms)).toISOString());

export const INVITATION_TTL_MS = 7 * 86_400_000;

export class TeamsService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly now: () => number = Date.now,
  ) {}

  /** The caller's membership of the team (by handle), if their role allows `need`: not theirs is a 404. */
  async member(user: SignedIn, handle: string, need: Permission): Promise<MembershipRow> {
    return memberOf(this.db, user, handle, need);
  }

  async create(user: SignedIn, input: { name: string; handle?: string | undefined }): Promise<api.TeamView> {
    sessionOnly(user);
    const name = input.name.trim();
    if (!name) throw Invalid('invalid_name', 'name must not be blank', { field: 'name' });
    const handle = input.handle ?? slug(name);
    if (!TEAM_HANDLE.test(handle)) throw Invalid('invalid_handle', `handle ${JSON.stringify(handle)}: 2–39 characters, lowercase letters, digits and -, starting with a letter (function URLs are /fn/<handle>/<name>)`, { field: 'handle' });
    const now = this.now();
    const id = await this.db.transaction().execute(async (tx) => {
      const id = await teamsRepo.insert(tx, { name, handle, ownerId: user.id }, now);
      await auditRepo.record(tx, { event: 'team_created', actorId: user.id, teamId: id, target: `team:${handle}`, clientIp: user.ip ?? null, after: { name, handle } }, now);
      return id;
    });
    return toTeamView((await teamsRepo.membershipById(this.db, user.id, id))!);
  }

  async list(user: SignedIn): Promise<api.TeamView[]> {
    return (await teamsRepo.forUser(this.db, user.id)).map(toTeamView);
  }

  async get(user: SignedIn, handle: string): Promise<api.TeamView> {
    return toTeamView(await this.member(user, handle, 'team:read'));
  }

  async members(user: SignedIn, handle: string): Promise<api.TeamMemberView[]> {
    const m = await this.member(user, handle, 'team:read');
    return (await teamsRepo.members(this.db, m.id)).map((r) => ({ userId: r.user_id, email: r.email, name: r.name, role: r.role, since: iso(r.created_at)! }));
  }

  /** An invitation for `email` with `role`; its token is in this answer only. Only an owner may invite an owner. */
  async invite(user: SignedIn, handle: string, input: { email: string; role: TeamRole }): Promise<api.InvitationView & { token: string }> {
    const m = await this.member(user, handle, 'team:manage');
    if (m.personal) throw Invalid('personal_team', 'a personal team has one member: create a team to work with others (POST /api/teams)');
    const email = input.email.trim().toLowerCase();
    const token = `${INVITATION_PREFIX}${randomBytes(24).toString('base64url')}`;
    const now = this.now();
    const id = randomUUID();
    const expiresAt = now + INVITATION_TTL_MS;
    await this.db.transaction().execute(async (tx) => {
      await teamsRepo.insertInvitation(tx, { id, teamId: m.id, email, role: input.role, tokenHash: sha256(token), invitedBy: user.id, expiresAt }, now);
      await auditRepo.record(tx, { event: 'member_invited', actorId: user.id, teamId: m.id, target: `member:${email}`, clientIp: user.ip ?? null, after: { role: input.role } }, now);
    });
    return { id, team: m.handle, email, role: input.role, createdAt: iso(now)!, expiresAt: iso(expiresAt)!, acceptedAt: null, token };
  }

  async invitations(user: SignedIn, handle: string): Promise<api.InvitationView[]> {
    const m = await this.member(user, handle, 'team:manage');
    return (await teamsRepo.invitations(this.db, m.id)).map((i) => ({ id: i.id, team: m.handle, email: i.email, role: i.role, createdAt: iso(i.created_at)!, expiresAt: iso(i.expires_at)!, acceptedAt: iso(i.accepted_at) }));
  }

  async revokeInvitation(user: SignedIn, handle: string, id: string): Promise<void> {
    const m = await this.member(user, handle, 'team:manage');
    const now = this.now();
    await this.db.transaction().execute(async (tx) => {
      if (!(await teamsRepo.deleteInvitation(tx, m.id, id))) throw NotFound('invitation_not_found', `team ${handle} has no invitation ${id}`);
      await auditRepo.record(tx, { event: 'invitation_revoked', actorId: user.id, teamId: m.id, target: `invitation:${id}`, clientIp: user.ip ?? null }, now);
    });
  }

  /** The invitee, signed in with the invited address, joins with the invited role. */
  async accept(user: SignedIn, token: string): Promise<api.TeamView> {
    sessionOnly(user);
    const inv = token.startsWith(INVITATION_PREFIX) ? await teamsRepo.invitationByHash(this.db, sha256(token)) : undefined;
    const now = this.now();
    // Someone else's invitation is as good as none: the token is the secret, the address the check.
    if (!inv || inv.email !== user.email.toLowerCase()) throw NotFound('invitation_not_found', 'no such invitation for your address (it may have been revoked)');
    if (inv.accepted_at !== null) throw Conflict('invitation_used', 'this invitation was already accepted');
    if (Number(inv.expires_at) <= now) throw Invalid('invitation_expired', `this invitation expired at ${iso(inv.expires_at)}: ask for a new one`);
    await this.db.transaction().execute(async (tx) => {
      if (!(await teamsRepo.accept(tx, inv.id, user.id, now))) throw Conflict('invitation_used', 'this invitation was already accepted');
      await teamsRepo.addMember(tx, inv.team_id, user.id, inv.role, now);
      await auditRepo.record(tx, { event: 'invitation_accepted', actorId: user.id, teamId: inv.team_id, target: `member:${user.email}`, clientIp: user.ip ?? null, after: { role: inv.role } }, now);
    });
    return toTeamView((await teamsRepo.membershipById(this.db, user.id, inv.team_id))!);
  }

  /** Changes a member's role (owners only); the last owner cannot step down. */
  async setRole(user: SignedIn, handle: string, memberRef: string, role: TeamRole): Promise<api.TeamMemberView> {
    const m = await this.member(user, handle, 'team:manage');
    const now = this.now();
    return this.db.transaction().execute(async (tx) => {
      await teamsRepo.lock(tx, m.id);
      const target = await this.findMember(tx, m.id, handle, memberRef);
      if (target.role === 'owner' && role !== 'owner' && (await teamsRepo.countOwners(tx, m.id)) <= 1) throw Conflict('last_owner', `${target.email} is the only owner of team ${handle}: make another member an owner first`);
      if (target.role !== role) {
        await teamsRepo.setRole(tx, m.id, target.user_id, role);
        await auditRepo.record(tx, { event: 'member_role_changed', actorId: user.id, subjectId: target.user_id, teamId: m.id, target: `member:${target.email}`, clientIp: user.ip ?? null, before: { role: target.role }, after: { role } }, now);
      }
      return { userId: target.user_id, email: target.email, name: target.name, role, since: iso(target.created_at)! };
    });
  }

  /** Removes a member (owners), or the caller leaves (anyone); the last owner cannot go. */
  async removeMember(user: SignedIn, handle: string, memberRef: string): Promise<void> {
    const self = memberRef === user.id || memberRef.toLowerCase() === user.email.toLowerCase();
    const m = await this.member(user, handle, self ? 'team:read' : 'team:manage');
    if (m.personal) throw Invalid('personal_team', 'a personal team keeps its person');
    const now = this.now();
    await this.db.transaction().execute(async (tx) => {
      await teamsRepo.lock(tx, m.id);
      const target = await this.findMember(tx, m.id, handle, memberRef);
      if (target.role === 'owner' && (await teamsRepo.countOwners(tx, m.id)) <= 1) throw Conflict('last_owner', `${target.email} is the only owner of team ${handle}: make another member an owner first, or delete the team`);
      await teamsRepo.removeMember(tx, m.id, target.user_id);
      await auditRepo.record(tx, { event: 'member_removed', actorId: user.id, subjectId: target.user_id, teamId: m.id, target: `member:${target.email}`, clientIp: user.ip ?? null, before: { role: target.role } }, now);
    });
  }

  /** Deletes a team with no functions left (owners). */
  async delete(user: SignedIn, handle: string): Promise<void> {
    const m = await this.member(user, handle, 'team:delete');
    if (m.personal) throw Invalid('personal_team', 'a personal team goes only with its account (DELETE /api/users/me)');
    const now = this.now();
    await this.db.transaction().execute(async (tx) => {
      const n = await teamsRepo.countFunctions(tx, m.id);
      if (n > 0) throw Conflict('team_not_empty', `team ${handle} still has ${n} function${n === 1 ? '' : 's'}: delete them first`);
      await teamsRepo.delete(tx, m.id);
      await auditRepo.record(tx, { event: 'team_deleted', actorId: user.id, teamId: m.id, target: `team:${handle}`, clientIp: user.ip ?? null, before: { name: m.name, handle } }, now);
    });
  }

  private async findMember(db: Kysely<Database>, teamId: string, handle: string, ref: string) {
    const found = (await teamsRepo.members(db, teamId)).find((r) => r.user_id === ref || r.email === ref.toLowerCase());
    if (!found) throw NotFound('member_not_found', `team ${handle} has no member ${ref}`);
    return found;
  }
}

/** A team handle from its name: lowercase, letters and digits joined by -. */
function slug(name: string): string {
  const s = name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 39).replace(/-+$/, '');
  return /^[a-z]/.test(s) ? s : `t-${s}`.slice(0, 39);
}

export function toTeamView(m: MembershipRow): api.TeamView {
  return { id: m.id, handle: m.handle, name: m.name, personal: m.personal === 1, role: m.role, createdAt: iso(m.created_at)! };
}
