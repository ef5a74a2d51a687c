// `cpub-server backup` and `restore`: one .tar.gz with a consistent snapshot of the database (SQLite's online
// backup API while the server runs; pg_dump for PostgreSQL), every artifact, and — only when asked — the key
// files. Restore fills an empty data folder (or an empty PostgreSQL database) from it.
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import * as tar from 'tar';
import { VERSION } from '../../../common/version.js';
import { checkDialect, dumpDatabase, restoreDatabase, type Dialect } from '../db/dump.js';

/** What a backup file holds, in its `manifest.json`. */
export interface BackupManifest {
  format: 1;
  version: string;
  dialect: Dialect;
  createdAt: string;
  artifacts: number;
  includesKeys: boolean;
}

export interface Target {
  dataDir: string;
  databaseUrl?: string | undefined;
  jwtSecret?: string | undefined;
  encryptionKey?: string | undefined;
  joinToken?: string | undefined;
}

const KEY_FILES = ['jwt-secret', 'key.txt', 'join-token'] as const;

/** Writes the backup to `out` (mode 0600, renamed into place when complete); `progress` hears each step. */
export async function backup(cfg: Target, out: string, opts: { includeKeys: boolean }, progress: (line: string) => void = () => {}): Promise<BackupManifest> {
  const work = mkdtempSync(join(dirname(resolve(out)), '.cpub-backup-'));
  try {
    const dialect = await dumpDatabase(cfg, work, progress);
    // Artifacts are content-addressed and never change: those written after the snapshot are simply extra.
    const from = join(cfg.dataDir, 'artifacts', 'sha256');
    const artifacts = existsSync(from) ? readdirSync(from).filter((f) => /^[0-9a-f]{64}$/.test(f)) : [];
    mkdirSync(join(work, 'artifacts'), { recursive: true });
    for (const f of artifacts) copyFileSync(join(from, f), join(work, 'artifacts', f));
    progress(`artifacts: ${artifacts.length}`);
    if (opts.includeKeys) {
      mkdirSync(join(work, 'keys'), { mode: 0o700 });
      const given: Record<string, string | undefined> = { 'jwt-secret': cfg.jwtSecret, 'key.txt': cfg.encryptionKey, 'join-token': cfg.joinToken };
      for (const name of KEY_FILES) {
        const value = given[name] ?? (existsSync(join(cfg.dataDir, name)) ? readFileSync(join(cfg.dataDir, name), 'utf8').trim() : undefined);
        if (value) writeFileSync(join(work, 'keys', name), value + '\n', { mode: 0o600 });
      }
      progress('keys: included (keep this file as safe as the keys themselves)');
    }
    const manifest: BackupManifest = { format: 1, version: VERSION, dialect, createdAt: new Date().toISOString(), artifacts: artifacts.length, includesKeys: opts.includeKeys };
    writeFileSync(join(work, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
    const tmp = `${resolve(out)}.partial`;
    await tar.c({ gzip: true, file: tmp, cwd: work, portable: true }, readdirSync(work));
    chmodSync(tmp, 0o600);
    renameSync(tmp, resolve(out));
    return manifest;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Restores a backup into an empty data folder or database; refuses anything that already holds data. */
export async function restore(cfg: Target, file: string, progress: (line: string) => void = () => {}): Promise<BackupManifest> {
  mkdirSync(cfg.dataDir, { recursive: true, mode: 0o700 });
  const work = mkdtempSync(join(cfg.dataDir, '.cpub-restore-'));
  try {
    await tar.x({ file, cwd: work, strict: true, preservePaths: false, filter: (_p, e) => ['File', 'Directory'].includes((e as tar.ReadEntry).type) });
    const manifest = JSON.parse(readFileSync(join(work, 'manifest.json'), 'utf8')) as BackupManifest;
    if (manifest.format !== 1) throw new Error(`unknown backup format ${String(manifest.format)}`);
    checkDialect(cfg, manifest.dialect);
    const artifactsDir = join(cfg.dataDir, 'artifacts', 'sha256');
    if (existsSync(artifactsDir) && readdirSync(artifactsDir).length) throw new Error(`${artifactsDir} is not empty: restore fills an empty data folder`);
    await restoreDatabase(cfg, work, manifest.dialect, progress);
    mkdirSync(artifactsDir, { recursive: true, mode: 0o700 });
    const artifacts = readdirSync(join(work, 'artifacts')).filter((f) => /^[0-9a-f]{64}$/.test(f));
    for (const f of artifacts) renameSync(join(work, 'artifacts', f), join(artifactsDir, f));
    progress(`artifacts: ${artifacts.length}`);
    if (manifest.includesKeys) {
      for (const name of KEY_FILES) {
        const from = join(work, 'keys', name);
        const to = join(cfg.dataDir, name);
        if (!existsSync(from)) continue;
        if (existsSync(to) && readFileSync(to, 'utf8').trim() !== readFileSync(from, 'utf8').trim()) throw new Error(`${to} exists with another value: remove it, or restore into an empty folder`);
        copyFileSync(from, to);
        chmodSync(to, 0o600);
      }
      progress('keys: restored');
    } else {
      progress('keys: not in this backup; start the server with the same CPUB_ENCRYPTION_KEY and CPUB_JWT_SECRET (or key files) as the original');
    }
    return manifest;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
