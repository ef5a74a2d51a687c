// Who may call a function, in one place for every door. By URL, the function's auth mode decides: `public`
// (anyone), `private` (the access token of a member of its team whose role may invoke it), `key` (one of its API
// keys, bearer or signed). By id or name (the JSON invoke, the dashboard), a member of its team whose role may
// invoke it (signed in, or with an access token) or an API key of that very function. Another team's function is
// not found; a role that may not invoke it is a 403.
import type { AuthService } from '../auth/auth.service.js';
import type { FunctionRow } from '../db/schema.js';
import type { SignedIn } from '../teams/access.js';
import { NotFound, Unauthenticated } from '../errors.js';
import type { FunctionsService } from '../functions/functions.service.js';
import { KEY_PREFIX, type KeysService } from '../keys/keys.service.js';
import { isScopedToken, type TokensService } from '../tokens/tokens.service.js';

/** What a request carried to prove who sent it. */
export interface Credentials {
  /** `Authorization: Bearer …`: an access token or an API key. */
  bearer?: string | undefined;
  /** `X-Api-Key`, `X-Timestamp`, `X-Signature`: a signed call (or a key in X-Api-Key). */
  apiKey?: string | undefined;
  timestamp?: string | undefined;
  signature?: string | undefined;
  /** The team the request works in (`Cpub-Team`), for a function named rather than given by id. */
  team?: string | undefined;
}

/** The caller: a user already signed in (a dashboard session), or the credentials a request carried. */
export type Caller = { user: SignedIn } | { credentials: Credentials };

/** Which function: its URL (`/fn/<handle>/<name>`), or its id or name among the caller's (or its key's) functions. */
export type FunctionRef = { handle: string; name: string } | { ref: string };

/** The function a caller may call, and whether its body must be read before the caller can be checked (a signed call). */
export interface Admitted {
  fn: FunctionRow;
  /** Set for a signed call: checked once the body is read. */
  checkSigned?: (body: Buffer) => Promise<void>;
}

export class CallAuth {
  constructor(
    private readonly auth: AuthService,
    private readonly functions: FunctionsService,
    private readonly keys: KeysService,
    /** Scoped tokens (personal access and service tokens) call too, with the invoke scope. */
    private readonly tokens?: TokensService,
  ) {}

  /** The function, if the caller may call it: otherwise 401 (no or bad credentials) or 404 (not theirs). */
  async admit(caller: Caller, ref: FunctionRef): Promise<Admitted> {
    return 'handle' in ref ? this.byUrl(caller, ref) : { fn: await this.byRef(caller, ref.ref) };
  }

  private async byUrl(caller: Caller, ref: { handle: string; name: string }): Promise<Admitted> {
    const fn = await this.functions.byUrl(ref.handle, ref.name);
    const notFound = () => NotFound('function_not_found', `no function ${ref.handle}/${ref.name}`);
    if (!fn) throw notFound();
    if (fn.auth === 'public') return { fn };
    const c = 'user' in caller ? undefined : caller.credentials;
    if (fn.auth === 'private') {
      const user = 'user' in caller ? caller.user : await this.userOf(c?.bearer, 'this function is private: send the access token of a member of its team (Authorization: Bearer …)');
      // Another team's private function does not exist, as far as they can tell.
      if (!(await this.functions.mayInvoke(user, fn))) throw notFound();
      return { fn };
    }
    const creds = c ?? {};
    if (creds.signature !== undefined || creds.timestamp !== undefined) {
      return { fn, checkSigned: (body) => this.keys.authorize(fn.id, { ...creds, body }) };
    }
    await this.keys.authorize(fn.id, { ...creds, body: NO_BODY });
    return { fn };
  }

  private async byRef(caller: Caller, ref: string): Promise<FunctionRow> {
    if ('user' in caller) return this.functions.findForCall(caller.user, ref);
    const token = caller.credentials.bearer;
    if (token?.startsWith(KEY_PREFIX)) {
      const functionId = await this.keys.functionOfKey(token);
      const fn = functionId ? await this.functions.byIdOfActiveOwner(functionId) : undefined;
      if (!fn || (fn.id !== ref && fn.name !== ref)) throw Unauthenticated('invalid_key', 'the API key is not valid for this function');
      await this.keys.authorize(fn.id, { bearer: token, body: NO_BODY });
      return fn;
    }
    const user = await this.userOf(token, 'send an access token: Authorization: Bearer <token>');
    return this.functions.findForCall({ ...user, team: caller.credentials.team }, ref);
  }

  private async userOf(bearer: string | undefined, missing: string): Promise<SignedIn> {
    if (!bearer) throw Unauthenticated('unauthenticated', missing);
    if (this.tokens && isScopedToken(bearer)) return (await this.tokens.authenticate(bearer)).user;
    return (await this.auth.authenticate(bearer)).user;
  }
}

const NO_BODY = Buffer.alloc(0);
