// Whether this server can save anything: the data folder takes a small synced write and has room left, and the
// database takes a write. /ready answers 503 while it cannot (a load balancer then sends requests elsewhere), and
// 200 again by itself once space is back. Checked at most once a second, however often /ready is asked.
import { statfs, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError, storageFull } from '../errors.js';
import type { Db } from '../db/connect.js';

/** Below this much free space in the data folder the server is not ready: uploads and the database need room. */
export const MIN_FREE_BYTES = 16 * 2 ** 20;
const CACHE_MS = 1000;

export class StorageCheck {
  private last: { at: number; result: Promise<AppError | undefined> } | undefined;

  constructor(
    private readonly dataDir: string,
    private readonly db: Db,
  ) {}

  /** Undefined when the server can write; else the problem to answer with. */
  check(): Promise<AppError | undefined> {
    if (this.last && Date.now() - this.last.at < CACHE_MS) return this.last.result;
    const result = this.probe();
    this.last = { at: Date.now(), result };
    return result;
  }

  private async probe(): Promise<AppError | undefined> {
    try {
      const fs = await statfs(this.dataDir);
      const free = fs.bavail * fs.bsize;
      if (free < MIN_FREE_BYTES) return full(`the data folder has ${Math.floor(free / 1024)} KiB free (at least ${MIN_FREE_BYTES / 2 ** 20} MiB needed)`);
      const path = join(this.dataDir, '.ready-probe');
      const f = await open(path, 'w', 0o600);
      try {
        await f.write(Buffer.alloc(4096));
        await f.sync();
      } finally {
        await f.close();
        await rm(path, { force: true });
      }
      await this.db.probeWrite();
      return undefined;
    } catch (err) {
      if (storageFull(err)) return full(`a write failed: ${(err as { code?: string }).code}`);
      return new AppError('unavailable', 'storage_unavailable', `the server cannot write its data: ${(err as Error).message}`);
    }
  }
}

const full = (why: string) => new AppError('unavailable', 'insufficient_storage', `out of storage space: ${why}`);
