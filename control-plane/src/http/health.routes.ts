// Liveness (/health: the process answers) and readiness (/ready: the database answers, and the server can write).
import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import type { AppEnv } from './env.js';
import type { Db } from '../db/connect.js';
import { Unavailable } from '../errors.js';
import type { StorageCheck } from './storage-check.js';
import { json, problem } from './schemas.js';

const health = createRoute({
  method: 'get',
  path: '/health',
  summary: 'The process is alive',
  responses: { 200: json('Alive', z.object({ status: z.literal('ok') })) },
});

const ready = createRoute({
  method: 'get',
  path: '/ready',
  summary: 'The database is reachable and the server can write its data',
  responses: { 200: json('Ready', z.object({ status: z.literal('ready'), database: z.string() })), 503: problem('Database unreachable, or no space to write') },
});

export function healthRoutes(db: Db, storage: StorageCheck) {
  return new OpenAPIHono<AppEnv>()
    .openapi(health, (c) => c.json({ status: 'ok' as const }, 200))
    .openapi(ready, async (c) => {
      try {
        await db.ping();
      } catch {
        throw Unavailable('database_unavailable', `the ${db.dialect} database does not answer`);
      }
      const problem = await storage.check();
      if (problem) throw problem;
      return c.json({ status: 'ready' as const, database: db.dialect }, 200);
    });
}
