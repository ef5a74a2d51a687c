// Queries on teams, their members and invitations. A team's account row in `users` (kind 'team') carries its
// handle; a personal team is its person's own account.
import { randomUUID } from 'node:crypto';
import type { Executor, TeamRole } from '../db/schema.js';
import { uniqueAsConflict } from '../db/connect.js';

export interface TeamRow {
  id: string;
  handle: string;
  name: string;
  personal: number;
  quotas: string | null;
  created_at: number;
}

export interface MembershipRow extends TeamRow {
  role: TeamRole;
}

export interface MemberRow {
  user_id: string;
  email: string;
  name: string;
  role: TeamRole;
  created_at: number;
}

const teamColumns = ['teams.id', 'users.handle', 'teams.name', 'teams.personal', 'teams.quotas', 'teams.created_at'] as const;

export const teamsRepo = {
  /** A person's personal team (their own account, its owner): made as they register. */
  async insertPersonal(db: Executor, user: { id: string; name: string }, now: number): Promise<void> {
    await db.insertInto('teams').values({ id: user.id, name: user.name, personal: 1, quotas: null, created_at: now }).execute();
    await db.insertInto('team_members').values({ team_id: user.id, user_id: user.id, role: 'owner', created_at: now }).execute();
  },

  /** A shared team: its account (which never signs in), the team, and its first owner. */
  async insert(db: Executor, t: { name: string; handle: string; ownerId: string }, now: number): Promise<string> {
    const id = randomUUID();
    await uniqueAsConflict(
      () =>
        db
          .insertInto('users')
          .values({ id, email: `team:${id}`, name: t.name, password_hash: '!', role: 'user', kind: 'team', created_at: now, updated_at: now, disabled_at: null, session_version: 0, handle: t.handle })
          .execute(),
      'team_handle_taken',
      `the handle ${t.handle} is taken: choose another (handle)`,
    );
    await db.insertInto('teams').values({ id, name: t.name, personal: 0, quotas: null, created_at: now }).execute();
    await db.insertInto('team_members').values({ team_id: id, user_id: t.ownerId, role: 'owner', created_at: now }).execute();
    return id;
  },

  /** The caller's membership of the team with this handle (undefined: no such team, or not theirs). */
  membership(db: Executor, userId: string, handle: string): Promise<MembershipRow | undefined> {
    return db
      .selectFrom('teams')
      .innerJoin('users', 'users.id', 'teams.id')
      .innerJoin('team_members', (j) => j.onRef('team_members.team_id', '=', 'teams.id').on('team_members.user_id', '=', userId))
      .select([...teamColumns, 'team_members.role'])
      .where('users.handle', '=', handle)
      .executeTakeFirst() as Promise<MembershipRow | undefined>;
  },

  /** The caller's membership of the team with this id. */
  membershipById(db: Executor, userId: string, teamId: string): Promise<MembershipRow | undefined> {
    return db
      .selectFrom('teams')
      .innerJoin('users', 'users.id', 'teams.id')
      .innerJoin('team_members', (j) => j.onRef('team_members.team_id', '=', 'teams.id').on('team_members.user_id', '=', userId))
      .select([...teamColumns, 'team_members.role'])
      .where('teams.id', '=', teamId)
      .executeTakeFirst() as Promise<MembershipRow | undefined>;
  },

  /** The teams a person is in, personal first, then by name. */
  forUser(db: Executor, userId: string): Promise<MembershipRow[]> {
    return db
      .selectFrom('team_members')
      .innerJoin('teams', 'teams.id', 'team_members.team_id')
      .innerJoin('users', 'users.id', 'teams.id')
      .select([...teamColumns, 'team_members.role'])
      .where('team_members.user_id', '=', userId)
      .orderBy('teams.personal', 'desc')
      .orderBy('teams.name')
      .execute() as Promise<MembershipRow[]>;
  },

  byId(db: Executor, id: string): Promise<TeamRow | undefined> {
    return db.selectFrom('teams').innerJoin('users', 'users.id', 'teams.id').select(teamColumns).where('teams.id', '=', id).executeTakeFirst() as Promise<TeamRow | undefined>;
  },

  byHandle(db: Executor, handle: string): Promise<TeamRow | undefined> {
    return db.selectFrom('teams').innerJoin('users', 'users.id', 'teams.id').select(teamColumns).where('users.handle', '=', handle).executeTakeFirst() as Promise<TeamRow | undefined>;
  },

  members(db: Executor, teamId: string): Promise<MemberRow[]> {
    return db
      .selectFrom('team_members')
      .innerJoin('users', 'users.id', 'team_members.user_id')
      .select(['team_members.user_id', 'users.email', 'users.name', 'team_members.role', 'team_members.created_at'])
      .where('team_members.team_id', '=', teamId)
      // People: a team's own account is in it only for its service tokens.
      .where('users.kind', '=', 'person')
      .orderBy('team_members.created_at')
      .orderBy('team_members.user_id')
      .execute();
  },

  async addMember(db: Executor, teamId: string, userId: string, role: TeamRole, now: number): Promise<void> {
    await uniqueAsConflict(() => db.insertInto('team_members').values({ team_id: teamId, user_id: userId, role, created_at: now }).execute(), 'already_member', 'you are already a member of this team');
  },

  async setRole(db: Executor, teamId: string, userId: string, role: TeamRole): Promise<void> {
    await db.updateTable('team_members').set({ role }).where('team_id', '=', teamId).where('user_id', '=', userId).execute();
  },

  async removeMember(db: Executor, teamId: string, userId: string): Promise<void> {
    await db.deleteFrom('team_members').where('team_id', '=', teamId).where('user_id', '=', userId).execute();
  },

  /** Serialises changes to a team's owners (a write to its row), so two owners cannot both step down at once. */
  async lock(db: Executor, teamId: string): Promise<void> {
    await db.updateTable('teams').set((eb) => ({ personal: eb.ref('personal') })).where('id', '=', teamId).execute();
  },

  async countOwners(db: Executor, teamId: string): Promise<number> {
    const r = await db.selectFrom('team_members').select((eb) => eb.fn.countAll<number | string>().as('n')).where('team_id', '=', teamId).where('role', '=', 'owner').executeTakeFirstOrThrow();
    return Number(r.n);
  },

  async countFunctions(db: Executor, teamId: string): Promise<number> {
    const r = await db.selectFrom('functions').select((eb) => eb.fn.countAll<number | string>().as('n')).where('owner_id', '=', teamId).executeTakeFirstOrThrow();
    return Number(r.n);
  },

  /** Deletes the team's account: the team, its members and invitations go with it (cascade). */
  async delete(db: Executor, teamId: string): Promise<void> {
    await db.deleteFrom('users').where('id', '=', teamId).where('kind', '=', 'team').execute();
  },

  async insertInvitation(db: Executor, inv: { id: string; teamId: string; email: string; role: TeamRole; tokenHash: string; invitedBy: string; expiresAt: number }, now: number): Promise<void> {
    await db
      .insertInto('team_invitations')
      .values({ id: inv.id, team_id: inv.teamId, email: inv.email, role: inv.role, token_hash: inv.tokenHash, invited_by: inv.invitedBy, created_at: now, expires_at: inv.expiresAt, accepted_at: null, accepted_by: null })
      .execute();
  },

  invitations(db: Executor, teamId: string) {
    return db.selectFrom('team_invitations').selectAll().where('team_id', '=', teamId).orderBy('created_at', 'desc').orderBy('id').limit(200).execute();
  },

  invitationByHash(db: Executor, tokenHash: string) {
    return db.selectFrom('team_invitations').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
  },

  /** Marks it accepted unless it was already (two accepts at once: one wins). */
  async accept(db: Executor, id: string, userId: string, now: number): Promise<boolean> {
    const r = await db.updateTable('team_invitations').set({ accepted_at: now, accepted_by: userId }).where('id', '=', id).where('accepted_at', 'is', null).executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  },

  async deleteInvitation(db: Executor, teamId: string, id: string): Promise<boolean> {
    const r = await db.deleteFrom('team_invitations').where('team_id', '=', teamId).where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) === 1;
  },

  /** The shared teams this person owns alone while others are members (they cannot leave them ownerless). */
  async ownedAloneWithOthers(db: Executor, userId: string): Promise<string[]> {
    const owned = await db
      .selectFrom('team_members')
      .innerJoin('teams', 'teams.id', 'team_members.team_id')
      .innerJoin('users', 'users.id', 'teams.id')
      .select(['teams.id', 'users.handle'])
      .where('team_members.user_id', '=', userId)
      .where('team_members.role', '=', 'owner')
      .where('teams.personal', '=', 0)
      .execute();
    const stuck: string[] = [];
    for (const t of owned) {
      const members = await teamsRepo.members(db, t.id);
      if (members.length > 1 && members.filter((m) => m.role === 'owner').length === 1) stuck.push(t.handle);
    }
    return stuck;
  },

  /** The shared teams whose only member is this person (they go with the account). */
  async aloneIn(db: Executor, userId: string): Promise<string[]> {
    const mine = await db.selectFrom('team_members').innerJoin('teams', 'teams.id', 'team_members.team_id').select('teams.id').where('team_members.user_id', '=', userId).where('teams.personal', '=', 0).execute();
    const alone: string[] = [];
    for (const t of mine) if ((await teamsRepo.members(db, t.id)).length === 1) alone.push(t.id);
    return alone;
  },
};
