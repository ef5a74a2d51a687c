// HTTP routes for the fleet: agents join (join token in the body); admins list nodes and drain or undrain them.
import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import type { AppEnv } from '../http/env.js';
import type { AuthService } from '../auth/auth.service.js';
import type { Fleet } from './fleet.service.js';
import { requireAdmin, requireAuth } from '../http/auth-middleware.js';
import { problem, json, jsonBody, bearer } from '../http/schemas.js';

const NodeSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    advertise: z.string(),
    status: z.enum(['up', 'suspect', 'down', 'draining', 'drained']),
    epoch: z.string().nullable(),
    lastHeartbeatAt: z.string().nullable(),
    capacity: z.object({ memoryBytes: z.number(), cpus: z.number(), maxContainers: z.number() }),
    usage: z.object({
      containers: z.number(),
      inFlight: z.number(),
      memoryBytes: z.number().openapi({ description: 'memory the containers use now' }),
      memoryReservedBytes: z.number().openapi({ description: 'memory limits of the containers: what placement packs by' }),
    }),
    warm: z.array(z.object({ functionId: z.string(), version: z.number(), idle: z.number(), busy: z.number() })).openapi({ description: 'warm containers per function version' }),
    limitsEnforced: z.boolean(),
    limitNotes: z.string(),
    rootless: z.boolean(),
    tls: z.boolean().openapi({ description: 'the control plane dials this agent over TLS' }),
    agentVersion: z.string(),
    runtimes: z.array(z.string()).openapi({ description: 'the runtimes it can build functions on: node, python (where the host has Python 3) and the operator’s (`cpub-agent start --runtime name=image`)' }),
  })
  .openapi('Node');

const register = createRoute({
  method: 'post',
  path: '/agents/register',
  summary: 'An agent joins the fleet with the join token; the answer holds its node credential',
  request: {
    body: jsonBody(
      z.object({
        joinToken: z.string().min(1).max(512),
        nodeId: z.string().max(64),
        name: z.string().max(200).optional(),
        advertise: z.string().max(300),
        credential: z.string().max(512).optional().openapi({ description: 'the node’s current credential, to re-join an existing node' }),
        tls: z.boolean().optional().openapi({ description: 'the agent serves gRPC over TLS: the control plane dials it only that way' }),
      }),
    ),
  },
  responses: {
    200: json('Joined', z.object({ nodeId: z.string(), credential: z.string() })),
    400: problem('Bad address or node id'),
    401: problem('Bad join token'),
    409: problem('The node id exists and the credential does not match'),
  },
});

export function fleetRoutes(auth: AuthService, fleet: Fleet) {
  const listNodes = createRoute({
    method: 'get',
    path: '/nodes',
    summary: 'The fleet (admin)',
    security: bearer,
    middleware: [requireAuth(auth), requireAdmin()] as const,
    responses: {
      200: json('Nodes', z.object({ nodes: z.array(NodeSchema), alert: z.string().nullable().openapi({ description: 'set when every agent stopped answering at once' }) })),
      401: problem('Not authenticated'),
      403: problem('Not an administrator'),
    },
  });
  const drainRoute = (undo: boolean) =>
    createRoute({
      method: 'post',
      path: `/nodes/{id}/${undo ? 'undrain' : 'drain'}`,
      summary: undo ? 'Lets a drained node take calls again (admin)' : 'Drains a node: its calls finish, new ones go to other nodes (admin)',
      security: bearer,
      middleware: [requireAuth(auth), requireAdmin()] as const,
      request: { params: z.object({ id: z.string().max(64) }) },
      responses: {
        200: json(undo ? 'The node, up' : 'The node, draining (or drained when nothing was in flight)', NodeSchema),
        401: problem('Not authenticated'),
        403: problem('Not an administrator'),
        404: problem('No such node'),
        503: problem('The node is not connected'),
      },
    });
  const getNode = createRoute({
    method: 'get',
    path: '/nodes/{id}',
    summary: 'One node (admin)',
    security: bearer,
    middleware: [requireAuth(auth), requireAdmin()] as const,
    request: { params: z.object({ id: z.string().max(64) }) },
    responses: { 200: json('Node', NodeSchema), 401: problem('Not authenticated'), 403: problem('Not an administrator'), 404: problem('No such node') },
  });
  return new OpenAPIHono<AppEnv>()
    .openapi(register, async (c) => c.json(await fleet.register(c.req.valid('json')), 200))
    .openapi(listNodes, async (c) => c.json(await fleet.list(), 200))
    .openapi(getNode, async (c) => c.json(await fleet.get(c.req.valid('param').id), 200))
    .openapi(drainRoute(false), async (c) => c.json(await fleet.drain(c.req.valid('param').id, false, { id: c.get('principal').userId, ip: c.get('clientIp') }), 200))
    .openapi(drainRoute(true), async (c) => c.json(await fleet.drain(c.req.valid('param').id, true, { id: c.get('principal').userId, ip: c.get('clientIp') }), 200));
}
