// The rules every function artifact (.tar.gz with the bundle and containerpub.json) must pass. The control
// plane checks uploads with them and the agent checks again before building: it trusts nothing. Both run the
// check in a worker thread (artifact-check.ts). The work is bounded per input byte: the archive is read up
// to its end marker and no further (a little zero padding may follow it, nothing else).
import { createReadStream, statSync } from 'node:fs';
import { chmod, readdir } from 'node:fs/promises';
import { join, normalize } from 'node:path';
import { Gunzip } from 'minizlib';
import * as tar from 'tar';

export interface ArtifactLimits {
  maxCompressedBytes: number;
  maxUnpackedBytes: number;
  /** Archive entries of every kind (files, folders, extended headers). */
  maxFiles: number;
}

export const DEFAULT_ARTIFACT_LIMITS: ArtifactLimits = { maxCompressedBytes: 50 * 2 ** 20, maxUnpackedBytes: 250 * 2 ** 20, maxFiles: 10_000 };

/** Bounds on names: what a function needs, far below what would make a build fail later. */
export const MAX_PATH_BYTES = 1024;
export const MAX_NAME_BYTES = 255;
export const MAX_DEPTH = 32;
/** Zero bytes allowed after the end-of-archive blocks (archivers pad to their record size: 10 KiB for GNU tar). */
export const MAX_PADDING_BYTES = 64 * 1024;

/** A runtime's name, as `containerpub.json` gives it and `cpub-agent start --runtime name=image` declares it. */
export const RUNTIME_NAME = /^[a-z][a-z0-9-]{0,31}$/;

export interface Manifest {
  name?: string;
  entry: string;
  [key: string]: unknown;
}

export type ArtifactErrorCode = 'too_large' | 'too_many_files' | 'bad_archive' | 'bad_entry' | 'no_manifest' | 'bad_manifest' | 'no_entry';

/** Why an artifact was refused: `code` is stable, `entry` names the offending archive member when there is one. */
export class ArtifactError extends Error {
  constructor(
    readonly code: ArtifactErrorCode,
    readonly detail: string,
    readonly entry?: string,
  ) {
    super(detail);
    this.name = 'ArtifactError';
  }
}

const ALLOWED_TYPES = new Set(['File', 'OldFile', 'ContiguousFile', 'Directory']);

/** An entry's name as shown in an error: quoted when odd, cut when long. */
const shown = (path: string) => {
  const cut = path.length > 120 ? `${path.slice(0, 120)}…` : path;
  return /[\x00-\x1f\x7f]/.test(cut) ? JSON.stringify(cut) : cut;
};

/** Checks one archive member's path and type; throws ArtifactError naming it. */
export function checkEntry(path: string, type: string): void {
  const name = shown(path);
  if (/[\x00-\x1f\x7f]/.test(path)) throw new ArtifactError('bad_entry', 'entry name contains control characters', name);
  if (path.startsWith('/') || /^[a-zA-Z]:/.test(path)) throw new ArtifactError('bad_entry', `absolute path ${name}`, name);
  const parts = path.split(/[\\/]/).filter((p) => p && p !== '.');
  if (parts.includes('..')) throw new ArtifactError('bad_entry', `path ${name} climbs out with ..`, name);
  if (Buffer.byteLength(path) > MAX_PATH_BYTES) throw new ArtifactError('bad_entry', `the path of ${name} is longer than ${MAX_PATH_BYTES} bytes`, name);
  if (parts.some((p) => Buffer.byteLength(p) > MAX_NAME_BYTES)) throw new ArtifactError('bad_entry', `a name in ${name} is longer than ${MAX_NAME_BYTES} bytes`, name);
  if (parts.length > MAX_DEPTH) throw new ArtifactError('bad_entry', `${name} is nested more than ${MAX_DEPTH} folders deep`, name);
  if (!ALLOWED_TYPES.has(type)) throw new ArtifactError('bad_entry', `${name} is a ${type}; only files and folders are allowed`, name);
}

/** A NUL inside a fixed-width name field (tar would cut the name there and take the rest as gone). */
function nulInField(block: Buffer, start: number, length: number): boolean {
  const field = block.subarray(start, start + length);
  const nul = field.indexOf(0);
  return nul >= 0 && field.subarray(nul).some((b) => b !== 0);
}

/**
 * Finds the archive's structure in the decompressed bytes, in one pass: where each header is, each body's
 * length (skipped, never copied), and where the archive ends (two zero blocks). It counts every entry and
 * every byte the archive declares, and splits what it is fed into the archive proper and what follows it.
 */
class TarFraming {
  /** Bytes of the archive seen so far. */
  private at = 0;
  private nextHeader = 0;
  private readonly block = Buffer.alloc(512);
  private blockFill = 0;
  private zeroBlocks = 0;
  ended = false;
  entries = 0;
  declared = 0;
  trailing = 0;

  constructor(private readonly limits: ArtifactLimits) {}

  /** Returns the part of `chunk` that belongs to the archive; throws ArtifactError on what breaks the rules. */
  feed(chunk: Buffer): Buffer {
    if (this.ended) {
      this.after(chunk);
      return chunk.subarray(0, 0);
    }
    let i = 0;
    while (i < chunk.length && !this.ended) {
      if (this.at < this.nextHeader) {
        const skip = Math.min(this.nextHeader - this.at, chunk.length - i);
        i += skip;
        this.at += skip;
        continue;
      }
      const take = Math.min(512 - this.blockFill, chunk.length - i);
      chunk.copy(this.block, this.blockFill, i, i + take);
      this.blockFill += take;
      i += take;
      this.at += take;
      if (this.blockFill < 512) break;
      this.blockFill = 0;
      this.header();
    }
    if (this.ended) this.after(chunk.subarray(i));
    return chunk.subarray(0, i);
  }

  private header(): void {
    const b = this.block;
    if (b.every((x) => x === 0)) {
      if (++this.zeroBlocks === 2) this.ended = true;
      this.nextHeader = this.at;
      return;
    }
    this.zeroBlocks = 0;
    if (++this.entries > this.limits.maxFiles) throw new ArtifactError('too_many_files', `more than ${this.limits.maxFiles} entries (files, folders and headers count alike)`);
    const h = new tar.Header(b);
    if (!h.cksumValid) throw new ArtifactError('bad_archive', 'not a well-formed .tar.gz: a header fails its checksum');
    // ustar names are NUL-padded: a NUL followed by more of the name hides part of it.
    const ustar = b.toString('latin1', 257, 263) === 'ustar\0';
    if (nulInField(b, 0, 100) || (ustar && nulInField(b, 345, 155))) {
      throw new ArtifactError('bad_entry', 'entry name contains a NUL character', shown(h.path ?? ''));
    }
    const size = h.size ?? 0;
    this.declared += size;
    if (this.declared > this.limits.maxUnpackedBytes) throw new ArtifactError('too_large', `unpacked size exceeds ${this.limits.maxUnpackedBytes} bytes`, h.path ? shown(h.path) : undefined);
    this.nextHeader = this.at + Math.ceil(size / 512) * 512;
  }

  private after(rest: Buffer): void {
    this.trailing += rest.length;
    if (rest.some((x) => x !== 0)) throw new ArtifactError('bad_archive', 'there is data after the end of the archive');
    if (this.trailing > MAX_PADDING_BYTES) throw new ArtifactError('bad_archive', `more than ${MAX_PADDING_BYTES} bytes follow the end of the archive`);
  }
}

export interface ArtifactChecker {
  /** Set as soon as the artifact is known to be refused: the caller can stop feeding it. */
  readonly state: { failed: ArtifactError | undefined };
  /** Feeds the next compressed bytes (checked before it returns). */
  write(chunk: Buffer): void;
  /** Resolves the manifest once all bytes are in, or rejects with the first ArtifactError. */
  end(): Promise<Manifest>;
}

/**
 * A checker fed the .tar.gz bytes as they arrive (an upload as it streams), all on the calling thread: run
 * it in a worker (artifact-check.ts). The tar structure is followed in one pass (TarFraming) and only the
 * archive proper reaches the entry parser. The compressed size is the caller's to count.
 */
export function artifactChecker(limits: ArtifactLimits = DEFAULT_ARTIFACT_LIMITS): ArtifactChecker {
  const names = new Set<string>();
  let manifest: Buffer | undefined;
  const state: { failed: ArtifactError | undefined } = { failed: undefined };
  const fail = (err: unknown) => {
    state.failed ??= err instanceof ArtifactError ? err : new ArtifactError('bad_archive', `not a well-formed .tar.gz: ${(err as Error).message}`);
  };
  const framing = new TarFraming(limits);
  const parser = new tar.Parser({
    strict: true,
    onReadEntry: (entry) => {
      if (state.failed) return entry.resume();
      try {
        checkEntry(entry.path, entry.type);
        if (entry.type !== 'Directory') {
          const name = normalize(entry.path);
          names.add(name);
          if (name === 'containerpub.json') {
            const chunks: Buffer[] = [];
            entry.on('data', (c: Buffer) => chunks.push(c));
            entry.on('end', () => (manifest = Buffer.concat(chunks)));
            return;
          }
        }
      } catch (err) {
        fail(err);
      }
      entry.resume();
    },
  });
  parser.on('error', fail);
  parser.on('warn', (_code: string, message: string) => fail(new Error(message)));
  // Extended headers: a NUL cuts a long name short; a size of their own would move where bodies end.
  parser.on('meta', (meta: string) => {
    if (meta.replace(/\0+$/, '').includes('\0')) fail(new ArtifactError('bad_entry', 'entry name contains a NUL character'));
    if (/(^|\n)\d+ (GNU\.sparse\.)?size=/.test(meta)) fail(new ArtifactError('bad_archive', 'extended headers may not set an entry size'));
  });
  const parsed = new Promise<void>((resolve) => parser.on('end', resolve).on('close', resolve).on('error', () => resolve()));

  // Decompressed synchronously, on the checker's own thread (a worker): libuv's shared threads stay free.
  const gunzip = new Gunzip({});
  gunzip.on('data', (out: Buffer) => {
    if (state.failed) return;
    try {
      const archive = framing.feed(out);
      if (archive.length) parser.write(archive);
    } catch (err) {
      fail(err);
    }
  });
  gunzip.on('error', (err: unknown) => fail(new ArtifactError('bad_archive', `not a well-formed .tar.gz: ${(err as Error).message}`)));

  return {
    state,
    write(chunk: Buffer): void {
      if (state.failed) return;
      // Fed in slices: a slice of zeros inflates at most ≈1000-fold before the framing can refuse it.
      for (let i = 0; i < chunk.length && !state.failed; i += 16 * 1024) gunzip.write(chunk.subarray(i, i + 16 * 1024));
    },
    async end(): Promise<Manifest> {
      if (!state.failed) gunzip.end();
      if (!state.failed) {
        parser.end();
        await parsed;
      }
      if (state.failed) throw state.failed;
      return readManifest(manifest, names);
    },
  };
}

function readManifest(manifest: Buffer | undefined, names: Set<string>): Manifest {
  if (!manifest) throw new ArtifactError('no_manifest', 'containerpub.json is missing at the top of the archive');
  let parsed: unknown;
  try {
    parsed = JSON.parse(manifest.toString('utf8'));
  } catch {
    throw new ArtifactError('bad_manifest', 'containerpub.json is not valid JSON', 'containerpub.json');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new ArtifactError('bad_manifest', 'containerpub.json must be a JSON object', 'containerpub.json');
  const m = parsed as Manifest;
  if (typeof m.entry !== 'string' || !m.entry) throw new ArtifactError('bad_manifest', 'containerpub.json must name its "entry"', 'containerpub.json');
  checkEntry(m.entry, 'File');
  if (m.runtime !== undefined && (typeof m.runtime !== 'string' || !RUNTIME_NAME.test(m.runtime))) {
    throw new ArtifactError('bad_manifest', 'containerpub.json "runtime" must be a runtime’s name: 1–32 lowercase letters, digits or dashes, starting with a letter ("node" when unset)', 'containerpub.json');
  }
  if (!names.has(normalize(m.entry))) throw new ArtifactError('no_entry', `the entry ${m.entry} named by containerpub.json is not in the archive`, m.entry);
  return m;
}

/** Lists and checks every member in a worker thread (nothing is written); returns the manifest. */
export async function inspectArtifact(file: string, limits: ArtifactLimits = DEFAULT_ARTIFACT_LIMITS, timeoutMs = 120_000): Promise<Manifest> {
  const size = statSync(file).size;
  if (size > limits.maxCompressedBytes) throw new ArtifactError('too_large', `artifact is ${size} bytes; the limit is ${limits.maxCompressedBytes}`);
  const { artifactCheckerInWorker } = await import('./artifact-check.js');
  const checker = await artifactCheckerInWorker(limits, timeoutMs);
  try {
    for await (const chunk of createReadStream(file, { highWaterMark: 256 * 1024 })) {
      await checker.write(chunk as Buffer);
      if (checker.state.failed) break;
    }
    return await checker.end();
  } finally {
    checker.close();
  }
}

/** Checks, then extracts into `dest` with plain modes (files 0644, folders 0755). Returns the manifest. */
export async function extractArtifact(file: string, dest: string, limits: ArtifactLimits = DEFAULT_ARTIFACT_LIMITS): Promise<Manifest> {
  const manifest = await inspectArtifact(file, limits);
  await tar.x({ file, cwd: dest, strict: true, preservePaths: false, noChmod: true, filter: (p, e) => ALLOWED_TYPES.has((e as tar.ReadEntry).type) });
  // Asynchronously: an agent extracts while it serves calls, and a bundle may have 10,000 files.
  const fix = async (dir: string): Promise<void> => {
    await chmod(dir, 0o755);
    for (const d of await readdir(dir, { withFileTypes: true })) {
      if (d.isDirectory()) await fix(join(dir, d.name));
      else await chmod(join(dir, d.name), 0o644);
    }
  };
  await fix(dest);
  return manifest;
}
