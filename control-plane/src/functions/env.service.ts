// A function's env: plain vars shown as they are, secrets sealed with AES-256-GCM at rest (bound to the
// function and key by the AAD), masked in every answer, opened only to start a container.
import type { Kysely } from 'kysely';
import type { Database, FunctionRow } from '../db/schema.js';
import type { Sealer } from '../secrets/crypto.js';
import { Invalid, NotFound } from '../errors.js';

export const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const MASK = '••••••••';

export class EnvService {
  /** Opened env per function, for calls: a few seconds at most (another replica may have changed it). */
  private readonly cache = new Map<string, { at: number; env: Record<string, string> }>();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly sealer: Sealer,
    private readonly onChanged: (functionId: string) => void,
  ) {}

  private aad(functionId: string, key: string): string {
    return `env:${functionId}:${key}`;
  }

  /** For the API: plain values, secrets masked. */
  async list(fn: FunctionRow): Promise<{ key: string; value: string; secret: boolean; updatedAt: string }[]> {
    const rows = await this.db.selectFrom('function_env').selectAll().where('function_id', '=', fn.id).orderBy('key').execute();
    return rows.map((r) => ({ key: r.key, value: r.secret ? MASK : r.value, secret: r.secret === 1, updatedAt: new Date(Number(r.updated_at)).toISOString() }));
  }

  async set(fn: FunctionRow, vars: Record<string, string>, secrets: Record<string, string>): Promise<void> {
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
      for (const r of rows) {
        await tx
          .insertInto('function_env')
          .values({ function_id: fn.id, key: r.key, value: r.value, secret: r.secret, updated_at: now })
          .onConflict((oc) => oc.columns(['function_id', 'key']).doUpdateSet({ value: r.value, secret: r.secret, updated_at: now }))
          .execute();
      }
    });
    this.changed(fn.id);
  }

  async unset(fn: FunctionRow, key: string): Promise<void> {
    const r = await this.db.deleteFrom('function_env').where('function_id', '=', fn.id).where('key', '=', key).executeTakeFirst();
    if (Number(r.numDeletedRows) === 0) throw NotFound('env_not_found', `${fn.name} has no env var ${key}`);
    this.changed(fn.id);
  }

  /** Every var with secrets opened: only for a call's container. Cached until it changes here, or 2 s. */
  async forCall(functionId: string): Promise<Record<string, string>> {
    const hit = this.cache.get(functionId);
    if (hit && Date.now() - hit.at < 2000) return hit.env;
    const rows = await this.db.selectFrom('function_env').selectAll().where('function_id', '=', functionId).execute();
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
