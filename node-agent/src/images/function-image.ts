// One image per function version: the artifact is checked again (the agent trusts nothing), unpacked into a
// build context, and built FROM the runtime image with a generated Containerfile. Idempotent by digest.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import * as tar from 'tar';
import { engineMessage, type ContainerRuntime } from '../runtime/container-runtime.js';
import { extractArtifact, ArtifactError, type ArtifactLimits, DEFAULT_ARTIFACT_LIMITS } from '../../../common/artifact.js';
import { AgentError } from '../errors.js';

export interface FunctionBuild {
  functionId: string;
  version: number;
  /** sha256 of the artifact, hex. */
  digest: string;
  artifactPath: string;
  runtimeImage: string;
  /**
   * The image of another runtime an artifact names (`runtime` in its containerpub.json, e.g. "python"); unset: every
   * artifact is built FROM `runtimeImage` (the conformance kit's builds).
   */
  runtimeImageFor?: (runtime: string) => Promise<string>;
  timeoutMs: number;
}

export const LABELS = {
  managed: 'containerpub.managed',
  function: 'containerpub.function',
  version: 'containerpub.version',
  digest: 'containerpub.digest',
  epoch: 'containerpub.epoch',
  node: 'containerpub.node',
  /** A prewarmed container of the runtime image, not yet claimed by a function. */
  stem: 'containerpub.stem',
} as const;

export function functionImageTag(functionId: string, digest: string): string {
  return `localhost/containerpub/fn-${functionId.toLowerCase()}:${digest.slice(0, 24)}`;
}

export async function buildFunctionImage(
  runtime: ContainerRuntime,
  dataDir: string,
  b: FunctionBuild,
  onLog?: (line: string) => void,
  limits: ArtifactLimits = DEFAULT_ARTIFACT_LIMITS,
): Promise<{ image: string; imageId: string; cached: boolean }> {
  if (!/^[a-z0-9][a-z0-9-]{0,63}$/i.test(b.functionId)) throw new AgentError('invalid', 'bad_function_id', 'function id must be letters, digits and dashes');
  if (!/^[0-9a-f]{64}$/.test(b.digest)) throw new AgentError('invalid', 'bad_digest', 'digest must be 64 hex characters (sha256)');
  const image = functionImageTag(b.functionId, b.digest);
  const cached = await runtime.imageExists(image);
  if (cached && bundleFor(dataDir, image)) return { image, imageId: image, cached: true };
  mkdirSync(join(dataDir, 'build'), { recursive: true });
  const dir = mkdtempSync(join(dataDir, 'build', 'fn-'));
  try {
    mkdirSync(join(dir, 'app'));
    let entry: string;
    let runtimeName: string;
    try {
      const manifest = await extractArtifact(b.artifactPath, join(dir, 'app'), limits);
      entry = manifest.entry;
      runtimeName = typeof manifest.runtime === 'string' ? manifest.runtime : 'node';
    } catch (err) {
      if (err instanceof ArtifactError) throw new AgentError('invalid', `artifact_${err.code}`, err.entry ? `${err.detail} (${err.entry})` : err.detail);
      throw err;
    }
    // The runtime its manifest names: Node's image, or another this node has.
    const from = runtimeName === 'node' || !b.runtimeImageFor ? b.runtimeImage : await b.runtimeImageFor(runtimeName);
    b = { ...b, runtimeImage: from };
    let imageId = image;
    if (!cached) {
      // Podman 4.3 with several API services on one image store can lose a just-built image, or a layer it reads, to
      // another service's concurrent write or removal: the build is run again, up to twice, before failing.
      for (let attempt = 0; ; attempt++) {
        try {
          imageId = await buildFromContext(runtime, dir, image, entry, b, onLog);
          break;
        } catch (err) {
          if (!storeRace(err) || attempt >= 2) throw err;
          onLog?.(`the image store changed under the build (${engineMessage(err)}); building it again`);
          await new Promise((r) => setTimeout(r, 200 * (attempt + 1)));
        }
      }
    }
    await keepBundle(dataDir, image, join(dir, 'app'), entry, b.version, runtimeName);
    return { image, imageId, cached };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function buildFromContext(runtime: ContainerRuntime, dir: string, image: string, entry: string, b: FunctionBuild, onLog?: (line: string) => void): Promise<string> {
  writeFileSync(join(dir, 'Containerfile'), [`FROM ${b.runtimeImage}`, 'COPY app/ /app/', `ENV CPUB_BUNDLE=${JSON.stringify(`/app/${entry}`)}`, ''].join('\n'));
  onLog?.(`building ${image} for version ${b.version}`);
  const context = tar.c({ cwd: dir, portable: true }, ['Containerfile', 'app']);
  const imageId = await runtime.buildImage(context as unknown as NodeJS.ReadableStream, image, {
    labels: { 'containerpub.role': 'function', [LABELS.managed]: 'true', [LABELS.function]: b.functionId, [LABELS.version]: String(b.version), [LABELS.digest]: b.digest },
    timeoutMs: b.timeoutMs,
    onLog,
  });
  return imageId;
}

/** Where the unpacked bundle of an image is kept: `bundles/<function id>/<digest prefix>/{app/,entry}`. */
function bundleDir(dataDir: string, image: string): string | undefined {
  const m = /\/fn-([a-z0-9-]+):([0-9a-f]{24})$/.exec(image);
  return m ? join(dataDir, 'bundles', m[1]!, m[2]!) : undefined;
}

/** A bundle a stem may copy in at once (a few small files: ≈ 1 ms); a larger one is copied asynchronously. */
const SMALL_BUNDLE = { files: 64, bytes: 4 * 2 ** 20 };

/**
 * The checked, unpacked bundle of a function image, kept beside it so a prewarmed stem container can load it
 * without a container start; undefined when this node has none (built before bundles were kept). `small`: it is
 * within SMALL_BUNDLE (a bundle kept before its size was, is not).
 */
export function bundleFor(dataDir: string, image: string): { appDir: string; entry: string; runtime: string; small: boolean } | undefined {
  const dir = bundleDir(dataDir, image);
  if (!dir || !existsSync(join(dir, 'entry'))) return undefined;
  const runtime = existsSync(join(dir, 'runtime')) ? readFileSync(join(dir, 'runtime'), 'utf8') : 'node';
  let small = false;
  try {
    const size = JSON.parse(readFileSync(join(dir, 'size'), 'utf8')) as { files: number; bytes: number };
    small = size.files <= SMALL_BUNDLE.files && size.bytes <= SMALL_BUNDLE.bytes;
  } catch {
    // kept by an earlier agent: copied asynchronously
  }
  return { appDir: join(dir, 'app'), entry: readFileSync(join(dir, 'entry'), 'utf8'), runtime, small };
}

async function keepBundle(dataDir: string, image: string, appDir: string, entry: string, version: number, runtime: string): Promise<void> {
  const dir = bundleDir(dataDir, image)!;
  await rm(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  renameSync(appDir, join(dir, 'app'));
  // Its size, for a stem's claim to choose how to copy it (up to 10,000 files and 250 MB unpacked).
  let files = 0;
  let bytes = 0;
  for (const e of await readdir(join(dir, 'app'), { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    files++;
    // parentPath from Node 20.12 (`path` before it; this package runs on 20.10 and up)
    bytes += (await stat(join(e.parentPath ?? (e as { path?: string }).path!, e.name))).size;
  }
  writeFileSync(join(dir, 'size'), JSON.stringify({ files, bytes }));
  writeFileSync(join(dir, 'version'), String(version));
  writeFileSync(join(dir, 'runtime'), runtime);
  writeFileSync(join(dir, 'entry'), entry); // written last: its presence says the bundle is complete
}

/** Forgets the kept bundles of a function (one version, or all when version is 0). */
export function removeBundles(dataDir: string, functionId: string, version = 0): void {
  if (!/^[a-z0-9-]+$/i.test(functionId)) return;
  const root = join(dataDir, 'bundles', functionId.toLowerCase());
  if (!version) return rmSync(root, { recursive: true, force: true });
  for (const d of existsSync(root) ? readdirSync(root) : []) {
    let v = '';
    try {
      v = readFileSync(join(root, d, 'version'), 'utf8');
    } catch {
      // incomplete: removed below
    }
    if (!v || v === String(version)) rmSync(join(root, d), { recursive: true, force: true });
  }
}

/** A build that failed because another process changed the shared image store under it (Podman 4.3). */
function storeRace(err: unknown): boolean {
  return (err as { statusCode?: number }).statusCode === 404 || /\b(layer|image) not known\b/.test(engineMessage(err));
}
