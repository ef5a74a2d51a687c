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

export function jsonBody<T extends z.ZodType>(schema: T) {
  return { required: true, content: { 'application/json': { schema } } };
}

export function json<T extends z.ZodType>(description: string, schema: T) {
  return { description, content: { 'application/json': { schema } } };
}

export const bearer = [{ bearer: [] as string[] }];
