// Every value sealed with the encryption key, wherever it is stored, with the associated data it was sealed
// with: what `cpub-server rotate-key` re-seals.
import type { Executor } from '../db/schema.js';

/** One sealed value: where it lives (table, row), its associated data, and its text. */
export interface SealedValue {
  table: 'function_env' | 'api_keys' | 'nodes' | 'refresh_tokens';
  /** The row's key columns. */
  where: Record<string, string>;
  aad: string;
  sealed: string;
}

const COLUMN = { function_env: 'value', api_keys: 'secret_sealed', nodes: 'credential_sealed', refresh_tokens: 'successor_sealed' } as const;

export const sealedRepo = {
  async all(db: Executor): Promise<SealedValue[]> {
    const env = await db.selectFrom('function_env').select(['function_id', 'key', 'value']).where('secret', '=', 1).execute();
    const keys = await db.selectFrom('api_keys').select(['id', 'secret_sealed']).execute();
    const nodes = await db.selectFrom('nodes').select(['id', 'credential_sealed']).execute();
    const grace = await db.selectFrom('refresh_tokens').select(['id', 'successor_sealed']).where('successor_sealed', 'is not', null).execute();
    return [
      ...env.map((r) => ({ table: 'function_env' as const, where: { function_id: r.function_id, key: r.key }, aad: `env:${r.function_id}:${r.key}`, sealed: r.value })),
      ...keys.map((r) => ({ table: 'api_keys' as const, where: { id: r.id }, aad: `key:${r.id}`, sealed: r.secret_sealed })),
      ...nodes.map((r) => ({ table: 'nodes' as const, where: { id: r.id }, aad: `node:${r.id}`, sealed: r.credential_sealed })),
      ...grace.map((r) => ({ table: 'refresh_tokens' as const, where: { id: r.id }, aad: `refresh-grace:${r.id}`, sealed: r.successor_sealed! })),
    ];
  },

  /** Replaces one sealed value, only if it is still the one read (a concurrent change wins). */
  async replace(db: Executor, v: SealedValue, sealed: string): Promise<boolean> {
    const column = COLUMN[v.table];
    let q = db.updateTable(v.table as 'nodes').set({ [column]: sealed } as never).where(column as 'credential_sealed', '=', v.sealed);
    for (const [k, value] of Object.entries(v.where)) q = q.where(k as 'id', '=', value);
    const r = await q.executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  },
};
