// The request-scoped values every handler can read from c.var.
import type { RequestIdVariables } from 'hono/request-id';
import type { Principal } from '../auth/auth.service.js';
import type { SignedIn } from '../teams/access.js';

export interface AppEnv {
  Variables: RequestIdVariables & {
    clientIp: string | null;
    principal: Principal;
    /** The authenticated user's row, as loaded by requireAuth, with the team the request works in. */
    user: SignedIn;
  };
}
