// The accounts' tables: people and teams' accounts, teams and their members, tokens (access, refresh, their
// families and links, the denylist), the audit log and the login throttle.
import type { Generated } from 'kysely';

export interface UsersTable {
  id: string;
  email: string;
  name: string;
  password_hash: string;
  role: 'admin' | 'user';
  created_at: number;
  updated_at: number;
  disabled_at: number | null;
  /** Carried in every token as `sv`; bumped by a password change or disabling, which kills every older token. */
  session_version: number;
  /** Stable, unique, URL-safe: function URLs are `/fn/<handle>/<function name>`. */
  handle: string;
  /** A person signs in; a team's account (teams/) only owns functions and never signs in. */
  kind: Generated<'person' | 'team'>;
}

export type TeamRole = 'owner' | 'admin' | 'developer' | 'viewer';

/** A team: its account row in `users` (same id) holds its handle. A person's personal team is their own account. */
export interface TeamsTable {
  id: string;
  name: string;
  personal: number;
  /** The quotas a server admin set (teams/quotas.ts Quotas, JSON); null: none. */
  quotas: string | null;
  created_at: number;
}

export interface TeamMembersTable {
  team_id: string;
  user_id: string;
  role: TeamRole;
  created_at: number;
}

/** A personal access token (a person's) or a team service token (its team account's): scoped, hashed, shown once. */
export interface AccessTokensTable {
  id: string;
  kind: 'personal' | 'service';
  /** The person, or the team's account. */
  holder_id: string;
  name: string;
  prefix: string;
  secret_hash: string;
  /** JSON array of scopes. */
  scopes: string;
  created_by: string | null;
  created_at: number;
  expires_at: number | null;
  last_used_at: number | null;
  revoked_at: number | null;
  /** {perSecond, burst} (JSON); null: none. */
  rate_limit: Generated<string | null>;
}

export interface TeamInvitationsTable {
  id: string;
  team_id: string;
  /** Who may accept it: the invitee signs in with this address. */
  email: string;
  role: TeamRole;
  /** SHA-256 (hex) of the token, which is shown once. */
  token_hash: string;
  invited_by: string | null;
  created_at: number;
  expires_at: number;
  accepted_at: number | null;
  accepted_by: string | null;
}

/** A login session: the chain of refresh tokens descending from one login. */
export interface TokenFamiliesTable {
  id: string;
  user_id: string;
  created_at: number;
  last_used_at: number;
  expires_at: number;
  revoked_at: number | null;
  revoke_reason: string | null;
}

export interface RefreshTokensTable {
  /** The refresh JWT's jti. */
  id: string;
  /** SHA-256 (hex) of the whole token; the token itself is never stored. */
  token_hash: string;
  user_id: string;
  family_id: string;
  parent_id: string | null;
  created_at: number;
  expires_at: number;
  spent_at: number | null;
  revoked_at: number | null;
  revoke_reason: string | null;
  /** The pair this token was rotated into, sealed; kept for the refresh grace window only. */
  successor_sealed: string | null;
  /** The client address that spent it. */
  spent_ip: string | null;
}

/** The link from a refresh token to the access token issued beside it (the architecture's token_links). */
export interface TokenLinksTable {
  refresh_id: string;
  access_jti: string;
  access_expires_at: number;
}

/** Revoked access tokens, keyed by jti, kept until they would have expired anyway. */
export interface AccessDenylistTable {
  jti: string;
  expires_at: number;
  /** Stamped with the database's clock at insert (db/connect.ts dbNowMs), so every replica's poller agrees on it. */
  created_at: number;
  reason: string;
}

export interface AuditLogTable {
  id: string;
  at: number;
  event: string;
  actor_id: string | null;
  subject_id: string | null;
  client_ip: string | null;
  /** JSON object of non-secret details. */
  detail: string;
  /** The team the change was made in (null: an account event). */
  team_id: Generated<string | null>;
  /** What was changed, as `kind:name` (function:api, key:…, member:…). */
  target: Generated<string | null>;
  /** JSON of the settings before and after the change, never a secret value. */
  before: Generated<string | null>;
  after: Generated<string | null>;
}

export interface LoginThrottleTable {
  key: string;
  failures: number;
  window_start: number;
  blocked_until: number;
}

export interface AccountTables {
  users: UsersTable;
  teams: TeamsTable;
  team_members: TeamMembersTable;
  team_invitations: TeamInvitationsTable;
  access_tokens: AccessTokensTable;
  token_families: TokenFamiliesTable;
  refresh_tokens: RefreshTokensTable;
  token_links: TokenLinksTable;
  access_denylist: AccessDenylistTable;
  audit_log: AuditLogTable;
  login_throttle: LoginThrottleTable;
}
