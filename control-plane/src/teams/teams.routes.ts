// HTTP routes for teams: /api/teams (create, list, one, delete), members and roles, invitations; and
// /api/invitations/:token/accept for the invitee.
import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../http/env.js';
import { problem, json, jsonBody, unauthenticated, authed, forbidden, type Same } from '../http/schemas.js';
import type { TeamsService } from './teams.service.js';
import type * as api from '../../../common/api-types.js';

const Role = z.enum(['owner', 'admin', 'developer', 'viewer']);
const TeamSchema = z
  .object({ id: z.string(), handle: z.string(), name: z.string(), personal: z.boolean(), role: Role.openapi({ description: 'the caller’s role in it' }), createdAt: z.string() })
  .openapi('Team');
const MemberSchema = z.object({ userId: z.string(), email: z.string(), name: z.string(), role: Role, since: z.string() }).openapi('TeamMember');
const InvitationSchema = z
  .object({ id: z.string(), team: z.string(), email: z.string(), role: Role, createdAt: z.string(), expiresAt: z.string(), acceptedAt: z.string().nullable() })
  .openapi('Invitation');
true satisfies Same<z.infer<typeof TeamSchema>, api.TeamView>;
true satisfies Same<z.infer<typeof MemberSchema>, api.TeamMemberView>;
true satisfies Same<z.infer<typeof InvitationSchema>, api.InvitationView>;

const teamParam = z.object({ team: z.string().max(63).openapi({ description: 'the team’s handle' }) });
const memberParam = teamParam.extend({ member: z.string().max(320).openapi({ description: 'a member’s user id or email' }) });
const invitationParam = teamParam.extend({ id: z.string().max(64) });
const teamNotFound = problem('No such team of yours (team_not_found)');

export function teamsRoutes(teams: TeamsService, user: MiddlewareHandler<AppEnv>) {
  const auth = authed(user);
  const create = createRoute({
    ...auth,
    method: 'post',
    path: '/teams',
    summary: 'Create a team; the caller is its owner (handle: for its function URLs, default from the name)',
    request: { body: jsonBody(z.object({ name: z.string().min(1).max(100), handle: z.string().max(39).optional() })) },
    responses: { 201: json('Team', z.object({ team: TeamSchema })), 400: problem('Bad name or handle'), 401: unauthenticated, 409: problem('Handle taken (team_handle_taken)') },
  });
  const list = createRoute({
    ...auth,
    method: 'get',
    path: '/teams',
    summary: 'The caller’s teams, personal first, with their role in each',
    responses: { 200: json('Teams', z.object({ teams: z.array(TeamSchema) })), 401: unauthenticated },
  });
  const get = createRoute({
    ...auth,
    method: 'get',
    path: '/teams/{team}',
    summary: 'One team of the caller’s',
    request: { params: teamParam },
    responses: { 200: json('Team', z.object({ team: TeamSchema })), 401: unauthenticated, 404: teamNotFound },
  });
  const remove = createRoute({
    ...auth,
    method: 'delete',
    path: '/teams/{team}',
    summary: 'Delete a team with no functions left (owner)',
    request: { params: teamParam },
    responses: { 204: { description: 'Deleted' }, 400: problem('A personal team'), 401: unauthenticated, 403: forbidden, 404: teamNotFound, 409: problem('It still has functions (team_not_empty)') },
  });
  const members = createRoute({
    ...auth,
    method: 'get',
    path: '/teams/{team}/members',
    summary: 'The team’s members and their roles',
    request: { params: teamParam },
    responses: { 200: json('Members', z.object({ members: z.array(MemberSchema) })), 401: unauthenticated, 404: teamNotFound },
  });
  const setRole = createRoute({
    ...auth,
    method: 'patch',
    path: '/teams/{team}/members/{member}',
    summary: 'Change a member’s role (owner); the last owner cannot step down',
    request: { params: memberParam, body: jsonBody(z.object({ role: Role })) },
    responses: { 200: json('Member', z.object({ member: MemberSchema })), 401: unauthenticated, 403: forbidden, 404: problem('No such team or member'), 409: problem('The last owner (last_owner)') },
  });
  const removeMember = createRoute({
    ...auth,
    method: 'delete',
    path: '/teams/{team}/members/{member}',
    summary: 'Remove a member (owner), or leave (yourself); the last owner cannot go',
    request: { params: memberParam },
    responses: { 204: { description: 'Removed' }, 401: unauthenticated, 403: forbidden, 404: problem('No such team or member'), 409: problem('The last owner (last_owner)') },
  });
  const invite = createRoute({
    ...auth,
    method: 'post',
    path: '/teams/{team}/invitations',
    summary: 'Invite someone by email with a role (owner); the token is in this answer only and expires in 7 days',
    request: { params: teamParam, body: jsonBody(z.object({ email: z.string().email().max(320), role: Role })) },
    responses: { 201: json('Invitation', z.object({ invitation: InvitationSchema.extend({ token: z.string() }) })), 400: problem('Bad email or role; a personal team'), 401: unauthenticated, 403: forbidden, 404: teamNotFound },
  });
  const invitations = createRoute({
    ...auth,
    method: 'get',
    path: '/teams/{team}/invitations',
    summary: 'The team’s invitations (owner; no tokens)',
    request: { params: teamParam },
    responses: { 200: json('Invitations', z.object({ invitations: z.array(InvitationSchema) })), 401: unauthenticated, 403: forbidden, 404: teamNotFound },
  });
  const revoke = createRoute({
    ...auth,
    method: 'delete',
    path: '/teams/{team}/invitations/{id}',
    summary: 'Revoke an invitation (owner)',
    request: { params: invitationParam },
    responses: { 204: { description: 'Revoked' }, 401: unauthenticated, 403: forbidden, 404: problem('No such team or invitation') },
  });
  const accept = createRoute({
    ...auth,
    method: 'post',
    path: '/invitations/{token}/accept',
    summary: 'Join the team an invitation is for, signed in with the invited address',
    request: { params: z.object({ token: z.string().max(100) }) },
    responses: { 200: json('Team', z.object({ team: TeamSchema })), 400: problem('Expired (invitation_expired)'), 401: unauthenticated, 404: problem('No such invitation for your address'), 409: problem('Already accepted, or already a member') },
  });

  return new OpenAPIHono<AppEnv>()
    .openapi(create, async (c) => c.json({ team: await teams.create(c.get('user'), c.req.valid('json')) }, 201))
    .openapi(list, async (c) => c.json({ teams: await teams.list(c.get('user')) }, 200))
    .openapi(get, async (c) => c.json({ team: await teams.get(c.get('user'), c.req.valid('param').team) }, 200))
    .openapi(remove, async (c) => {
      await teams.delete(c.get('user'), c.req.valid('param').team);
      return c.body(null, 204);
    })
    .openapi(members, async (c) => c.json({ members: await teams.members(c.get('user'), c.req.valid('param').team) }, 200))
    .openapi(setRole, async (c) => {
      const p = c.req.valid('param');
      return c.json({ member: await teams.setRole(c.get('user'), p.team, p.member, c.req.valid('json').role) }, 200);
    })
    .openapi(removeMember, async (c) => {
      const p = c.req.valid('param');
      await teams.removeMember(c.get('user'), p.team, p.member);
      return c.body(null, 204);
    })
    .openapi(invite, async (c) => c.json({ invitation: await teams.invite(c.get('user'), c.req.valid('param').team, c.req.valid('json')) }, 201))
    .openapi(invitations, async (c) => c.json({ invitations: await teams.invitations(c.get('user'), c.req.valid('param').team) }, 200))
    .openapi(revoke, async (c) => {
      const p = c.req.valid('param');
      await teams.revokeInvitation(c.get('user'), p.team, p.id);
      return c.body(null, 204);
    })
    .openapi(accept, async (c) => c.json({ team: await teams.accept(c.get('user'), c.req.valid('param').token) }, 200));
}
