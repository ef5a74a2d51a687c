// The runtime image every function image starts FROM. With no registry reachable it is assembled here from
// this host's Node binary, the shared libraries it links, a passwd entry for an unprivileged user and the
// shim; on hosts with a registry, `--runtime-base IMAGE` builds it FROM that image instead.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as tar from 'tar';
import * as esbuild from 'esbuild';
import type { ContainerRuntime } from '../runtime/container-runtime.js';
import { AgentError } from '../errors.js';

/** The label naming a runtime image's language (what its functions are written in): `node`, `python`. */
export const LANGUAGE_LABEL = 'containerpub.language';

/** The unprivileged user functions run as. */
export const FUNCTION_UID = 10001;
export const SHIM_PATH = '/opt/cpub/shim.mjs';
export const NODE_PATH = '/usr/local/bin/node';

export interface RuntimeImageOptions {
  dataDir: string;
  runtimeBase?: string | undefined;
  nodeBinary?: string;
  /** Another shim and tag (tests: a deliberately broken runtime for the conformance kit to fail). */
  shim?: { source: Buffer; tag: string };
}

let shim: Buffer | undefined;
/** The shim as one file (it imports its frame codec, shim/frames.ts): bundled once per process. */
export function shimSource(): Buffer {
  if (!shim) {
    // absWorkingDir: the bundle's path comments (and so the image tag) must not depend on the folder the agent runs in.
    const out = esbuild.buildSync({ absWorkingDir: fileURLToPath(new URL('../', import.meta.url)), entryPoints: [fileURLToPath(new URL('../shim/shim.js', import.meta.url))], bundle: true, platform: 'node', format: 'esm', target: 'node20', write: false, logLevel: 'silent' });
    shim = Buffer.from(out.outputFiles[0]!.contents);
  }
  return shim;
}

/** `localhost/containerpub/runtime-node:<version>`: the version changes with the shim, Node and the base. */
export function runtimeImageTag(opts: RuntimeImageOptions): string {
  if (opts.shim) return opts.shim.tag;
  const h = createHash('sha256').update(shimSource()).update(process.version).update(opts.runtimeBase ?? 'host').digest('hex');
  return `localhost/containerpub/runtime-node:${h.slice(0, 12)}`;
}

/** Absolute paths of the shared libraries `binary` links, as `ldd` reports them. */
export async function sharedLibraries(binary: string): Promise<string[]> {
  const { stdout } = await promisify(execFile)('ldd', [binary], { encoding: 'utf8' }).catch((err: { stderr?: string; message: string }) => {
    throw new AgentError('unavailable', 'ldd_failed', `ldd ${binary} failed: ${(err.stderr || err.message).trim()}`);
  });
  return [...stdout.matchAll(/(\/[^\s)]+)/g)].map((m) => m[1]!).filter((p) => p !== binary);
}

async function writeContext(dir: string, opts: RuntimeImageOptions): Promise<void> {
  mkdirSync(join(dir, 'rootfs', 'opt', 'cpub'), { recursive: true });
  writeFileSync(join(dir, 'rootfs', SHIM_PATH), opts.shim?.source ?? shimSource());
  const user = `USER ${FUNCTION_UID}:${FUNCTION_UID}`;
  const entry = `ENTRYPOINT ["${opts.runtimeBase ? 'node' : NODE_PATH}", "${SHIM_PATH}"]`;
  if (opts.runtimeBase) {
    writeFileSync(join(dir, 'Containerfile'), `FROM ${opts.runtimeBase}\nCOPY rootfs/ /\n${user}\n${entry}\n`);
    return;
  }
  const root = join(dir, 'rootfs');
  const node = realpathSync(opts.nodeBinary ?? process.execPath);
  const put = (from: string, to: string) => {
    mkdirSync(dirname(join(root, to)), { recursive: true });
    copyFileSync(from, join(root, to)); // follows symlinks: the image holds real files
  };
  put(node, NODE_PATH);
  for (const lib of await sharedLibraries(node)) put(lib, lib);
  mkdirSync(join(root, 'etc'), { recursive: true });
  writeFileSync(join(root, 'etc', 'passwd'), `root:x:0:0:root:/root:/sbin/nologin\nfn:x:${FUNCTION_UID}:${FUNCTION_UID}:function:/app:/sbin/nologin\n`);
  writeFileSync(join(root, 'etc', 'group'), `root:x:0:\nfn:x:${FUNCTION_UID}:\n`);
  for (const d of ['tmp', 'app', 'run/cpub']) mkdirSync(join(root, d), { recursive: true });
  chmodSync(join(root, 'tmp'), 0o1777);
  writeFileSync(join(dir, 'Containerfile'), `FROM scratch\nCOPY rootfs/ /\n${user}\nWORKDIR /app\n${entry}\n`);
}

/** Builds the runtime image unless it is already present. Returns its tag and whether it was built now. */
export async function ensureRuntimeImage(runtime: ContainerRuntime, opts: RuntimeImageOptions, onLog?: (line: string) => void): Promise<{ tag: string; built: boolean }> {
  const tag = runtimeImageTag(opts);
  if (await runtime.imageExists(tag)) return { tag, built: false };
  mkdirSync(join(opts.dataDir, 'build'), { recursive: true });
  const dir = mkdtempSync(join(opts.dataDir, 'build', 'runtime-'));
  try {
    await writeContext(dir, opts);
    const context = tar.c({ cwd: dir, portable: true }, ['Containerfile', 'rootfs']);
    await runtime.buildImage(context as unknown as NodeJS.ReadableStream, tag, {
      labels: { 'containerpub.role': 'runtime', [LANGUAGE_LABEL]: 'node' },
      timeoutMs: 5 * 60_000,
      onLog,
    });
    return { tag, built: true };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
