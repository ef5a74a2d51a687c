// Content-addressed artifact storage: `artifacts/sha256/<digest>`. An upload streams into a staging file while
// its size is capped and its tar checked (every refusal a 4xx naming the entry, and nothing of it left on
// disk); an accepted one is fsynced and renamed into place before the version row is committed, so a 2xx
// means the artifact survives a kill -9 of the server. With several replicas (PostgreSQL), every artifact is
// also kept in the database (`artifact_blobs`), so a replica that did not receive the upload can restore it
// when it must build that version on an agent.
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { open, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ArtifactError, DEFAULT_ARTIFACT_LIMITS, type ArtifactLimits, type Manifest } from '../../../common/artifact.js';
import { artifactCheckerInWorker, CheckTimeout, type WorkerChecker } from '../../../common/artifact-check.js';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { AppError, Invalid, TooLarge, Unavailable } from '../errors.js';
import { artifactsRepo } from './artifacts.repo.js';

export interface StagedArtifact {
  path: string;
  digest: string;
  sizeBytes: number;
  manifest: Manifest;
}

/** How long an upload may take: without a byte for `idleMs`, or past `totalMs` in all, it is a 408. */
export interface UploadPace {
  idleMs: number;
  totalMs: number;
}

export class ArtifactStore {
  private readonly root: string;
  private readonly staging: string;

  constructor(
    dataDir: string,
    readonly limits: ArtifactLimits = DEFAULT_ARTIFACT_LIMITS,
    /** Set with several replicas: artifacts are shared through this database. */
    private readonly shared?: Kysely<Database>,
    private readonly pace: UploadPace = { idleMs: 30_000, totalMs: 120_000 },
  ) {
    this.root = join(dataDir, 'artifacts', 'sha256');
    this.staging = join(dataDir, 'artifacts', 'staging');
    mkdirSync(this.root, { recursive: true, mode: 0o700 });
    mkdirSync(this.staging, { recursive: true, mode: 0o700 });
    // Staging files of uploads a crash cut short.
    for (const f of readdirSync(this.staging)) rmSync(join(this.staging, f), { force: true });
  }

  path(digest: string): string {
    if (!/^[0-9a-f]{64}$/.test(digest)) throw Invalid('bad_digest', 'not a sha256 digest');
    return join(this.root, digest);
  }

  /** Refuses an upload by its declared length, before a byte of it is read. */
  admit(declaredBytes: number | undefined): void {
    // Multipart framing around the archive is allowed a little room.
    if (declaredBytes !== undefined && declaredBytes > this.limits.maxCompressedBytes + 64 * 1024) {
      throw TooLarge('artifact_too_large', `the upload declares ${declaredBytes} bytes; the archive limit is ${this.limits.maxCompressedBytes} bytes`);
    }
  }

  /**
   * Reads an upload into a staging file, checking it as it streams (in a worker thread, with the upload's
   * deadline); on any refusal nothing stays on disk.
   */
  async stage(body: AsyncIterable<Uint8Array>): Promise<StagedArtifact> {
    const path = join(this.staging, `${Date.now()}-${randomBytes(8).toString('hex')}.tar.gz`);
    const file = await open(path, 'wx', 0o600);
    const hash = createHash('sha256');
    let size = 0;
    let checker: WorkerChecker | undefined;
    try {
      checker = await artifactCheckerInWorker(this.limits, this.pace.totalMs);
      for await (const part of paced(body, this.pace)) {
        const chunk = Buffer.from(part.buffer, part.byteOffset, part.byteLength);
        size += chunk.length;
        if (size > this.limits.maxCompressedBytes) throw TooLarge('artifact_too_large', `the archive is larger than ${this.limits.maxCompressedBytes} bytes`);
        hash.update(chunk);
        await checker.write(chunk);
        if (checker.state.failed) break; // refused: stop reading
        await file.write(chunk);
      }
      if (size === 0 && !checker.state.failed) throw Invalid('artifact_empty', 'the upload is empty: send the .tar.gz as the body (application/gzip) or the multipart field "archive"');
      const manifest = await checker.end();
      await file.sync();
      await file.close();
      return { path, digest: hash.digest('hex'), sizeBytes: size, manifest };
    } catch (err) {
      checker?.close();
      await file.close().catch(() => {});
      rmSync(path, { force: true });
      throw asHttpError(err);
    }
  }

  /** Moves a staged artifact to its content address (a copy already there is kept) and syncs the folder. */
  commit(staged: StagedArtifact): string {
    const dest = this.path(staged.digest);
    if (existsSync(dest)) rmSync(staged.path, { force: true });
    else renameSync(staged.path, dest);
    const dir = openSync(this.root, 'r');
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
    return dest;
  }

  /** Stores a committed artifact in the shared database too (no-op without one); before its version row. */
  async share(digest: string): Promise<void> {
    if (!this.shared) return;
    const data = await readFile(this.path(digest));
    await artifactsRepo.insert(this.shared, digest, data, Date.now());
  }

  /** The artifact's file on this replica, restored from the shared database when another replica received it. */
  async local(digest: string): Promise<string> {
    const dest = this.path(digest);
    if (existsSync(dest)) return dest;
    const data = this.shared && (await artifactsRepo.data(this.shared, digest));
    if (!data) throw Unavailable('artifact_missing', `the artifact ${digest.slice(0, 12)}… is not on this control plane; deploy the version again`);
    const tmp = join(this.staging, `${Date.now()}-${randomBytes(8).toString('hex')}.tar.gz`);
    await writeFile(tmp, data, { mode: 0o600, flush: true });
    if (createHash('sha256').update(data).digest('hex') !== digest) {
      rmSync(tmp, { force: true });
      throw Unavailable('artifact_corrupt', `the stored artifact ${digest.slice(0, 12)}… does not match its digest`);
    }
    renameSync(tmp, dest);
    return dest;
  }

  /** Drops shared copies no version uses any more (a deleted function's): checked again in the statement itself. */
  async unshare(digests: Iterable<string>, inUse: Set<string>): Promise<void> {
    const gone = [...digests].filter((d) => !inUse.has(d));
    if (!this.shared || !gone.length) return;
    await artifactsRepo.deleteUnused(this.shared, gone);
  }

  /** Shares the artifacts of versions made before sharing existed (or by a single replica before PostgreSQL). */
  async backfill(): Promise<number> {
    if (!this.shared) return 0;
    let n = 0;
    for (const digest of await artifactsRepo.unshared(this.shared)) {
      if (!existsSync(this.path(digest))) continue; // another replica has it: it shares it at its start
      await this.share(digest);
      n++;
    }
    return n;
  }

  discard(staged: StagedArtifact): void {
    rmSync(staged.path, { force: true });
  }

  /**
   * Removes artifacts no version uses: the given ones (a deleted function's) whatever their age, and any other
   * unreferenced file once it is older than COLLECT_GRACE_MS — a file renamed into place moments ago may be a
   * deploy whose version row is not committed yet.
   */
  collect(keep: Set<string>, mine: Iterable<string> = [], now = Date.now()): number {
    const owned = new Set(mine);
    let n = 0;
    for (const f of readdirSync(this.root)) {
      if (keep.has(f)) continue;
      const path = join(this.root, f);
      const st = statSync(path, { throwIfNoEntry: false });
      if (!st || (!owned.has(f) && now - st.mtimeMs < COLLECT_GRACE_MS)) continue;
      rmSync(path, { force: true });
      n++;
    }
    return n;
  }
}

/** How old an unreferenced artifact must be before collect() removes it. */
const COLLECT_GRACE_MS = 10 * 60_000;

/** The upload's bytes, failing with 408 when none come for `idleMs` or the whole takes longer than `totalMs`. */
async function* paced(body: AsyncIterable<Uint8Array>, pace: UploadPace): AsyncGenerator<Uint8Array> {
  const it = body[Symbol.asyncIterator]();
  const deadline = Date.now() + pace.totalMs;
  for (;;) {
    const total = deadline - Date.now();
    const wait = Math.min(pace.idleMs, total);
    let timer: NodeJS.Timeout | undefined;
    const next = await Promise.race([
      it.next(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(wait < pace.idleMs ? uploadTimeout(`the upload did not finish within ${pace.totalMs} ms`) : uploadTimeout(`the upload sent nothing for ${pace.idleMs} ms`)),
          Math.max(0, wait),
        );
      }),
    ]).finally(() => clearTimeout(timer));
    if (next.done) return;
    yield next.value;
  }
}

const uploadTimeout = (detail: string) => new AppError('invalid', 'upload_timeout', detail, { httpStatus: 408 });

function asHttpError(err: unknown): unknown {
  if (err instanceof CheckTimeout) return uploadTimeout(err.message);
  if (!(err instanceof ArtifactError)) return err;
  const extra = err.entry ? { entry: err.entry } : {};
  if (err.code === 'too_large' || err.code === 'too_many_files') return TooLarge(`artifact_${err.code}`, err.detail);
  return Invalid(`artifact_${err.code}`, err.entry ? `${err.detail} (entry: ${err.entry})` : err.detail, extra);
}
