// The rules every function artifact (.tar.gz with the bundle and containerpub.json) must pass. The control
// plane checks uploads with them and the agent checks again before building: it trusts nothing.
import { createReadStream, statSync, readdirSync, chmodSync } from 'node:fs';
import { join, normalize } from 'node:path';
import * as tar from 'tar';

export interface ArtifactLimits {
  maxCompressedBytes: number;
  maxUnpackedBytes: number;
  maxFiles: number;
}

export const DEFAULT_ARTIFACT_LIMITS: ArtifactLimits = { maxCompressedBytes: 50 * 2 ** 20, maxUnpackedBytes: 250 * 2 ** 20, maxFiles: 10_000 };

export interface Manifest {
  name?: string;
  entry: string;
  [key: string]: unknown;
}

/** Why an artifact was refused: `code` is stable, `entry` names the offending archive member when there is one. */
export class ArtifactError extends Error {
  constructor(
    readonly code: 'too_large' | 'too_many_files' | 'bad_archive' | 'bad_entry' | 'no_manifest' | 'bad_manifest' | 'no_entry',
    readonly detail: string,
    readonly entry?: string,
  ) {
    super(detail);
    this.name = 'ArtifactError';
  }
}

const ALLOWED_TYPES = new Set(['File', 'OldFile', 'ContiguousFile', 'Directory']);

/** Checks one archive member's path and type; throws ArtifactError naming it. */
export function checkEntry(path: string, type: string): void {
  if (/[\x00-\x1f\x7f]/.test(path)) throw new ArtifactError('bad_entry', 'entry name contains control characters', JSON.stringify(path));
  if (path.startsWith('/') || /^[a-zA-Z]:/.test(path)) throw new ArtifactError('bad_entry', `absolute path ${path}`, path);
  if (path.split(/[\\/]/).includes('..')) throw new ArtifactError('bad_entry', `path ${path} climbs out with ..`, path);
  if (!ALLOWED_TYPES.has(type)) throw new ArtifactError('bad_entry', `${path} is a ${type}; only files and folders are allowed`, path);
}

/**
 * A checker fed the .tar.gz bytes as they arrive (an upload as it streams): `write` each chunk, then `end()`
 * resolves the manifest or rejects with the first ArtifactError; `failed` is set as soon as one is found, so
 * the caller can stop reading. The compressed size is the caller's to count.
 */
export function artifactChecker(limits: ArtifactLimits = DEFAULT_ARTIFACT_LIMITS) {
  let files = 0;
  let unpacked = 0;
  let manifest: Buffer | undefined;
  const names = new Set<string>();
  const state: { failed: ArtifactError | undefined } = { failed: undefined };
  const parser = new tar.Parser({
    strict: true,
    onReadEntry: (entry) => {
      if (state.failed) return entry.resume();
      try {
        checkEntry(entry.path, entry.type);
        if (entry.type !== 'Directory') {
          if (++files > limits.maxFiles) throw new ArtifactError('too_many_files', `more than ${limits.maxFiles} files`);
          unpacked += entry.size ?? 0;
          if (unpacked > limits.maxUnpackedBytes) throw new ArtifactError('too_large', `unpacked size exceeds ${limits.maxUnpackedBytes} bytes`, entry.path);
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
        state.failed = err as ArtifactError;
      }
      entry.resume();
    },
  });
  let parseError: Error | undefined;
  parser.on('error', (err: Error) => {
    parseError ??= err;
    state.failed ??= new ArtifactError('bad_archive', `not a well-formed .tar.gz: ${err.message}`);
  });
  parser.on('warn', (_code: string, message: string) => {
    state.failed ??= new ArtifactError('bad_archive', `not a well-formed .tar.gz: ${message}`);
  });
  const finished = new Promise<void>((resolve) => parser.on('end', resolve).on('close', resolve).on('error', () => resolve()));
  return {
    state,
    write(chunk: Buffer): void {
      if (!state.failed) parser.write(chunk);
    },
    async end(): Promise<Manifest> {
      if (!state.failed) {
        parser.end();
        await finished;
      }
      if (state.failed) throw state.failed;
      return readManifest(manifest, names);
    },
  };
}

function readManifest(manifest: Buffer | undefined, names: Set<string>): Manifest {
  if (!manifest) throw new ArtifactError('no_manifest', 'containerpub.json is missing at the top of the archive');
  let parsed: Manifest;
  try {
    parsed = JSON.parse(manifest.toString('utf8')) as Manifest;
  } catch {
    throw new ArtifactError('bad_manifest', 'containerpub.json is not valid JSON', 'containerpub.json');
  }
  if (typeof parsed.entry !== 'string' || !parsed.entry) throw new ArtifactError('bad_manifest', 'containerpub.json must name its "entry"', 'containerpub.json');
  checkEntry(parsed.entry, 'File');
  if (!names.has(normalize(parsed.entry))) throw new ArtifactError('no_entry', `the entry ${parsed.entry} named by containerpub.json is not in the archive`, parsed.entry);
  return parsed;
}

/** Lists and checks every member (nothing is written); returns the manifest. */
export async function inspectArtifact(file: string, limits: ArtifactLimits = DEFAULT_ARTIFACT_LIMITS): Promise<Manifest> {
  const size = statSync(file).size;
  if (size > limits.maxCompressedBytes) throw new ArtifactError('too_large', `artifact is ${size} bytes; the limit is ${limits.maxCompressedBytes}`);
  const checker = artifactChecker(limits);
  for await (const chunk of createReadStream(file, { highWaterMark: 256 * 1024 })) {
    checker.write(chunk as Buffer);
    if (checker.state.failed) break;
  }
  return checker.end();
}

/** Checks, then extracts into `dest` with plain modes (files 0644, folders 0755). Returns the manifest. */
export async function extractArtifact(file: string, dest: string, limits: ArtifactLimits = DEFAULT_ARTIFACT_LIMITS): Promise<Manifest> {
  const manifest = await inspectArtifact(file, limits);
  await tar.x({ file, cwd: dest, strict: true, preservePaths: false, noChmod: true, filter: (p, e) => ALLOWED_TYPES.has((e as tar.ReadEntry).type) });
  const fix = (dir: string) => {
    chmodSync(dir, 0o755);
    for (const d of readdirSync(dir, { withFileTypes: true })) {
      if (d.isDirectory()) fix(join(dir, d.name));
      else chmodSync(join(dir, d.name), 0o644);
    }
  };
  fix(dest);
  return manifest;
}
