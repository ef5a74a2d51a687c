// `cpub-server rotate-key`: re-seals every sealed value under the current CPUB_ENCRYPTION_KEY, opening each with
// whichever configured key sealed it, so an old key (in CPUB_PREVIOUS_ENCRYPTION_KEYS) can then be retired.
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import type { Sealer } from '../secrets/crypto.js';
import { sealedRepo } from './sealed.repo.js';

export interface RotationReport {
  /** Values re-sealed under the current key. */
  resealed: number;
  /** Values already under the current key. */
  current: number;
}

/** Throws (AppError `undecryptable`) on a value no configured key opens: nothing after it is changed. */
export async function rotateKey(db: Kysely<Database>, sealer: Sealer): Promise<RotationReport> {
  const report: RotationReport = { resealed: 0, current: 0 };
  for (const v of await sealedRepo.all(db)) {
    if (!sealer.needsRotation(v.sealed)) {
      report.current++;
      continue;
    }
    const plain = sealer.open(v.sealed, v.aad);
    if (await sealedRepo.replace(db, v, sealer.seal(plain, v.aad))) report.resealed++;
  }
  return report;
}
