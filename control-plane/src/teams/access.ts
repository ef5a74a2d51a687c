// The one authorisation check. Whoever asks is a signed-in person (or a token of theirs, narrowed by its scopes)
// working in a team: another team's resource was already not found (lookups join the caller's memberships);
// here a role — or a token's scopes — that may not do what is asked answers 403, saying which.
import type { TeamRole, User } from '../db/schema.js';
import { Forbidden, NotFound, Unauthenticated } from '../errors.js';
import type { Executor } from '../db/schema.js';
import { teamsRepo, type MembershipRow } from './teams.repo.js';
import { allows, type Permission } from './roles.js';

/** A signed-in person as a request sees them: the team it works in (Cpub-Team, a handle) and its token's scopes. */
export type SignedIn = User & {
  /** The team named by the request (the `Cpub-Team` header or a `team` field); undefined: the personal team. */
  team?: string | undefined;
  /** A scoped token's scopes; undefined or null: a session, which may do all its roles allow. */
  scopes?: readonly string[] | null | undefined;
  /** The request's client address, for the audit trail. */
  ip?: string | null | undefined;
};

export interface Membership {
  role: TeamRole;
  /** The team's handle, for the message. */
  handle: string;
}

/** Throws 403 unless the member's role (and the request's token scopes) allow `need`; `viewerInvoke`: the function lets viewers invoke it. */
export function authorize(caller: SignedIn, m: Membership, need: Permission, viewerInvoke = false): void {
  const roleAllows = allows(m.role, need) || (need === 'invoke' && m.role === 'viewer' && viewerInvoke);
  if (!roleAllows) throw Forbidden('role_forbids', `your role in team ${m.handle} (${m.role}) does not allow ${need}`);
  if (caller.scopes && !caller.scopes.includes(need)) throw Forbidden('scope_missing', `this token's scopes (${caller.scopes.join(', ') || 'none'}) do not include ${need}`);
}

/** What only a signed-in person may do (make tokens, create or join teams): never with a scoped token. */
export function sessionOnly(caller: SignedIn): void {
  if (caller.scopes) throw Unauthenticated('session_required', 'this needs a session: sign in (cpub login), not a scoped token');
}

/**
 * The caller's membership of the team with this handle (undefined: their personal team), if their role there allows
 * `need`: a team they are not in is a 404 team_not_found, a role that may not a 403.
 */
export async function memberOf(db: Executor, caller: SignedIn, handle: string | undefined, need: Permission): Promise<MembershipRow> {
  const m = handle === undefined ? await teamsRepo.membershipById(db, caller.id, caller.id) : await teamsRepo.membership(db, caller.id, handle);
  if (!m) throw NotFound('team_not_found', `no team ${handle ?? caller.handle} of yours`);
  authorize(caller, m, need);
  return m;
}
