// The public shape of a user: what the API returns, never the password hash.
import type { User } from '../db/schema.js';
import type { UserView } from '../../../common/api-types.js';

/** The shape lives in common/api-types.ts, which the CLI reads too. */
export type PublicUser = UserView;

export function toPublicUser(u: User): PublicUser {
  return {
    id: u.id,
    email: u.email,
    name: u.name,
    role: u.role,
    handle: u.handle,
    createdAt: new Date(u.created_at).toISOString(),
    disabled: u.disabled_at !== null,
  };
}
