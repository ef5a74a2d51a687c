// Schemas shared by several route files: problem bodies, the public user, the token response.
import { z } from '@hono/zod-openapi';

export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    code: z.string().openapi({ description: 'stable, machine-readable error code' }),
    detail: z.string(),
    instance: z.string(),
    requestId: z.string().optional(),
  })
  .openapi('Problem');

export const UserSchema = z
  .object({
    id: z.string(),
    email: z.string(),
    name: z.string(),
    role: z.enum(['admin', 'user']),
    handle: z.string().openapi({ description: 'function URLs are /fn/<handle>/<function name>' }),
    createdAt: z.string(),
    disabled: z.boolean(),
  })
  .openapi('User');

export const TokensSchema = z
  .object({
    accessToken: z.string(),
    refreshToken: z.string(),
    tokenType: z.literal('Bearer'),
    expiresIn: z.number().int(),
  })
  .openapi('Tokens');

/** A problem response entry for createRoute's `responses`. */
export function problem(description: string) {
  return { description, content: { 'application/problem+json': { schema: ProblemSchema } } };
}

/**
 * A JSON request body. An object's unknown fields are refused (a 400 naming the field), never dropped: a typo in
 * a setting must not be silently ignored.
 */
export function jsonBody<T extends z.ZodType>(schema: T) {
  const strict = (schema instanceof z.ZodObject ? schema.strict() : schema) as T;
  return { required: true, content: { 'application/json': { schema: strict } } };
}

export function json<T extends z.ZodType>(description: string, schema: T) {
  return { description, content: { 'application/json': { schema } } };
}

export const bearer = [{ bearer: [] as string[] }];

/** A route's `security` and `middleware` when it takes the caller's access token (`user`: requireAuth). */
export const authed = <M>(user: M) => ({ security: bearer, middleware: user });

/** A page of a list: `limit` (1–200, 50 by default) and the opaque cursor of the previous page's end. */
export const pageQuery = (cursorMax = 200) => z.object({ limit: z.coerce.number().int().min(1).max(200).default(50), cursor: z.string().max(cursorMax).optional() });

/** A function by id or name, in a route's path. */
export const fnRef = z.object({ ref: z.string().min(1).max(100).openapi({ description: 'the function’s id or name' }) });

export const unauthenticated = problem('Not authenticated');
export const fnNotFound = problem('No such function in your teams');
/** The caller's role in the function's team (or the token's scopes) does not allow this. */
export const forbidden = problem('Your role in the team (or the token’s scopes) does not allow this (role_forbids, scope_missing)');

/**
 * True when two types are the same (neither has a field the other lacks): `true satisfies Same<A, B>` ties a
 * route's zod schema to the answer's type in common/api-types.ts, so the two cannot drift.
 */
export type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? ((<T>() => T extends B ? 1 : 2) extends <T>() => T extends A ? 1 : 2 ? true : false) : false;
