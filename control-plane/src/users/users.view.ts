// The public shape of a user: what the API returns, never the password hash.
import type { User } from '../db/schema.js';

export interface PublicUser {
  id: string;
  email: string;
  name: string;
  role: 'admin' | 'user';
  /** Function URLs are /fn/<handle>/<function name>. */
  handle: string;
  createdAt: string;
  disabled: boolean;
}

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
