// A function's destination secret: what deliveries to its destinations are signed with (destinations.ts). Its
// owner reads it to check signatures (made on first need), and rotates it; it is sealed at rest.
import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import type { Kysely } from 'kysely';
import type { AppEnv } from '../http/env.js';
import type { Database, User } from '../db/schema.js';
import type { FunctionLookup } from '../functions/functions.service.js';
import type { Sealer } from '../secrets/crypto.js';
import { json, fnRef, unauthenticated, fnNotFound, authed } from '../http/schemas.js';
import { newDestinationSecret } from './destinations.js';

export class DestinationSecrets {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly functions: FunctionLookup,
    private readonly sealer: Sealer,
  ) {}

  async get(user: User, ref: string): Promise<string> {
    const fn = await this.functions.find(user, ref, 'env:read');
    if (fn.destination_secret) return this.sealer.open(fn.destination_secret, `destination:${fn.id}`);
    return this.rotate(user, fn.id);
  }

  async rotate(user: User, ref: string): Promise<string> {
    const fn = await this.functions.find(user, ref, 'functions:write');
    const secret = newDestinationSecret();
    await this.db.updateTable('functions').set({ destination_secret: this.sealer.seal(secret, `destination:${fn.id}`) }).where('id', '=', fn.id).execute();
    return secret;
  }
}

const Secret = z.object({ secret: z.string().openapi({ description: 'HMAC-SHA256 key: X-Cpub-Signature = base64 HMAC(secret, X-Cpub-Timestamp + ":" + body)' }) });

export function destinationSecretRoutes(secrets: DestinationSecrets, user: MiddlewareHandler<AppEnv>) {
  const auth = authed(user);
  const show = createRoute({
    ...auth,
    method: 'get',
    path: '/{ref}/destinations/secret',
    summary: 'The secret the function’s destination deliveries are signed with (made if it has none)',
    request: { params: fnRef },
    responses: { 200: json('The secret', Secret), 401: unauthenticated, 404: fnNotFound },
  });
  const rotate = createRoute({
    ...auth,
    method: 'post',
    path: '/{ref}/destinations/secret',
    summary: 'A new destination secret: deliveries from now on are signed with it',
    request: { params: fnRef },
    responses: { 200: json('The new secret', Secret), 401: unauthenticated, 404: fnNotFound },
  });
  return new OpenAPIHono<AppEnv>()
    .openapi(show, async (c) => c.json({ secret: await secrets.get(c.get('user'), c.req.valid('param').ref) }, 200))
    .openapi(rotate, async (c) => c.json({ secret: await secrets.rotate(c.get('user'), c.req.valid('param').ref) }, 200));
}
