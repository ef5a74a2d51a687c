// A function's env: plain vars shown as they are, secrets sealed with AES-256-GCM at rest (bound to the
// function and key by the AAD), masked in lists, opened to start a container or for a team admin who asks for one.
import { auditRepo, functionChange } from '../audit/audit.repo.js';
import type { Kysely } from 'kysely';
import type { Database, User } from '../db/schema.js';
import type { SignedIn } from '../teams/access.js';
import type { FunctionLookup } from '../functions/functions.service.js';
import { envRepo } from './env.repo.js';
import type { EnvEntry } from '../../../common/api-types.js';
import type { Sealer } from '../secrets/crypto.js';
import { Invalid, NotFound } from '../errors.js';

export const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const MASK = '••••••••';

export type { EnvEntry } from '../../../common/api-types.js';

export class EnvService {
  /** Opened env per function, for calls: a few seconds at most (another replica may have changed it). */
  private readonly cache = new Map<string, { at: number; env: Record<string, string> }>();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly sealer: Sealer,
    private readonly onChanged: (functionId: string) => void,
    private readonly functions: FunctionLookup,
  ) {}

  private aad(functionId: string, key: string): string {
    return `env:${functionId}:${key}`;
  }

  /** For the API: plain values, secrets masked. */
  async list(user: User, ref: string): Promise<EnvEntry[]> {
    const fn = await this.functions.find(user, ref, 'functions:read');
    const rows = await envRepo.list(this.db, fn.id);
    return rows.map((r) => ({ key: r.key, value: r.secret ? MASK : r.value, secret: r.secret === 1, updatedAt: new Date(Number(r.updated_at)).toISOString() }));
  }

  /** One var with its value: a plain one for whoever reads the function, a secret's only with env:read. */
  async get(user: SignedIn, ref: string, key: string): Promise<{ key: string; value: string; secret: boolean }> {
    const fn = await this.functions.find(user, ref, 'functions:read');
    const row = (await envRepo.list(this.db, fn.id)).find((r) => r.key === key);
    if (!row) throw NotFound('env_not_found', `${fn.name} has no env var ${key}`);
    if (!row.secret) return { key, value: row.value, secret: false };
    await this.functions.find(user, fn.id, 'env:read');
    return { key, value: this.sealer.open(row.value, this.aad(fn.id, key)), secret: true };
  }

  /** Sets vars and secrets all at once (or none), and answers the function's env as it then is. */
  async set(user: User, ref: string, vars: Record<string, string>, secrets: Record<string, string>): Promise<EnvEntry[]> {
    const fn = await this.functions.find(user, ref, 'env:write');
    const now = Date.now();
    const rows = [
      ...Object.entries(vars).map(([key, value]) => ({ key, value, secret: 0 })),
      ...Object.entries(secrets).map(([key, value]) => ({ key, value: this.sealer.seal(value, this.aad(fn.id, key)), secret: 1 })),
    ];
    for (const r of rows) {
      if (!ENV_KEY.test(r.key) || r.key.startsWith('CPUB_')) throw Invalid('invalid_env_key', `${r.key}: env names are letters, digits and _, not starting with a digit or CPUB_`, { field: r.key });
    }
    if (!rows.length) throw Invalid('empty_env', 'send vars or secrets to set');
    await this.db.transaction().execute(async (tx) => {
      await envRepo.upsert(tx, fn.id, rows, now);
      // Names only: never a value.
      await auditRepo.record(tx, functionChange(user, fn, 'env_set', { target: `env:${fn.name}`, after: { vars: Object.keys(vars), secrets: Object.keys(secrets) } }), now);
    });
    this.changed(fn.id);
    return this.list(user, fn.id);
  }

  async unset(user: User, ref: string, key: string): Promise<void> {
    const fn = await this.functions.find(user, ref, 'env:write');
    await this.db.transaction().execute(async (tx) => {
      if (!(await envRepo.delete(tx, fn.id, key))) throw NotFound('env_not_found', `${fn.name} has no env var ${key}`);
      await auditRepo.record(tx, functionChange(user, fn, 'env_unset', { target: `env:${fn.name}`, before: { name: key } }));
    });
    this.changed(fn.id);
  }

  /** `forCall` when the answer is cached (no promise on a call's hot path), else undefined. */
  cachedForCall(functionId: string): Record<string, string> | undefined {
    const hit = this.cache.get(functionId);
    return hit && Date.now() - hit.at < 2000 ? hit.env : undefined;
  }

  /** Every var with secrets opened: only for a call's container. Cached until it changes here, or 2 s. */
  async forCall(functionId: string): Promise<Record<string, string>> {
    const hit = this.cache.get(functionId);
    if (hit && Date.now() - hit.at < 2000) return hit.env;
    const rows = await envRepo.list(this.db, functionId);
    const env: Record<string, string> = {};
    for (const r of rows) env[r.key] = r.secret ? this.sealer.open(r.value, this.aad(functionId, r.key)) : r.value;
    this.cache.set(functionId, { at: Date.now(), env });
    return env;
  }

  forget(functionId: string): void {
    this.cache.delete(functionId);
  }

  private changed(functionId: string): void {
    this.cache.delete(functionId);
    this.onChanged(functionId);
  }
}
