// What each team role may do: one table, read by the one authorisation check (TeamsService.authorize). A token
// with scopes may do only what both its scopes and its holder's role allow.
import type { TeamRole } from '../db/schema.js';

export const PERMISSIONS = [
  'functions:read', // functions, versions, aliases, schedules, dead letters, scaling, env names, stats
  'logs:read', // executions, their logs, build logs
  'invoke', // a viewer only on a function that allows it (viewerInvoke)
  'functions:deploy', // upload, rollback, aliases, canaries, schedules, dead-letter replay and purge
  'env:write', // set and unset vars and secrets (reading a secret's value is env:read)
  'functions:write', // create, change settings, delete
  'env:read', // a secret's value, the destination signing secret
  'keys:read',
  'keys:write',
  'audit:read', // the team's audit trail
  'team:read', // the team, its members, its usage
  'team:manage', // invite, change roles, remove members
  'team:delete',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

export const ROLES: readonly TeamRole[] = ['viewer', 'developer', 'admin', 'owner'];

const VIEWER: Permission[] = ['functions:read', 'logs:read', 'team:read'];
const DEVELOPER: Permission[] = [...VIEWER, 'invoke', 'functions:deploy', 'env:write'];
const ADMIN: Permission[] = [...DEVELOPER, 'functions:write', 'env:read', 'keys:read', 'keys:write', 'audit:read'];
const OWNER: Permission[] = [...ADMIN, 'team:manage', 'team:delete'];

export const ROLE_PERMISSIONS: Readonly<Record<TeamRole, ReadonlySet<Permission>>> = {
  viewer: new Set(VIEWER),
  developer: new Set(DEVELOPER),
  admin: new Set(ADMIN),
  owner: new Set(OWNER),
};

export const isRole = (r: string): r is TeamRole => (ROLES as readonly string[]).includes(r);

/** Whether `role` (narrowed by a token's `scopes`, when it has some) may do `need`. */
export function allows(role: TeamRole, need: Permission, scopes?: readonly string[] | null): boolean {
  if (!ROLE_PERMISSIONS[role].has(need)) return false;
  return !scopes || scopes.includes(need);
}
