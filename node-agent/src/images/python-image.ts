// The Python runtime image, assembled offline like the Node one (runtime-image.ts): this host's Python 3 (Debian's
// python3), the shared libraries it and its extension modules link, its standard library (compiled ahead, since
// the image is read-only at run time), a passwd entry for the unprivileged user, and the Python shim
// (shim/python/shim.py). Functions are built FROM it with `ENV CPUB_BUNDLE=/app/<entry>` like any runtime's.
import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync } from 'node:fs';
import { chmod, copyFile, cp, mkdir, readdir, realpath, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as tar from 'tar';
import type { ContainerRuntime } from '../runtime/container-runtime.js';
import { AgentError } from '../errors.js';
import { FUNCTION_UID, LANGUAGE_LABEL, sharedLibraries } from './runtime-image.js';

export const PYTHON_SHIM_PATH = '/opt/cpub/shim.py';
/** Where the interpreter is in the image: the host's own path, so it finds its standard library where it looks. */
const PYTHON_IN_IMAGE = '/usr/bin/python3';
/** Standard-library folders no function needs (tests, GUIs, installers, the build's config). */
const LEFT_OUT = new Set(['test', 'idlelib', 'tkinter', 'turtledemo', 'ensurepip', 'lib2to3', 'pydoc_data', '__pycache__', 'site-packages', 'dist-packages', 'venv']);

export interface PythonHost {
  /** The interpreter (its real path) and its version, `3.11`. */
  binary: string;
  version: string;
  /** Its standard library, `/usr/lib/python3.11`. */
  stdlib: string;
}

/** This host's Python 3, if it has one with its standard library; undefined otherwise. */
export function hostPython(): PythonHost | undefined {
  const r = spawnSync('/usr/bin/python3', ['-I', '-c', 'import sys, sysconfig; print(sys.version_info[0], sys.version_info[1], sysconfig.get_path("stdlib"))'], { encoding: 'utf8' });
  if (r.status !== 0) return undefined;
  const [major, minor, stdlib] = r.stdout.trim().split(' ');
  if (!stdlib || !existsSync(join(stdlib, 'asyncio'))) return undefined;
  return { binary: realpathSync('/usr/bin/python3'), version: `${major}.${minor}`, stdlib };
}

function shimSource(): Buffer {
  return readFileSync(fileURLToPath(new URL('../../../../node-agent/src/shim/python/shim.py', import.meta.url)));
}

/** `localhost/containerpub/runtime-python:<version>`: it changes with the shim and the host's Python. */
export function pythonImageTag(py: PythonHost): string {
  const h = createHash('sha256').update(shimSource()).update(py.binary).update(py.version).update(readFileSync(py.binary)).digest('hex');
  return `localhost/containerpub/runtime-python:${h.slice(0, 12)}`;
}

/**
 * The build context: every step asynchronous. An agent assembles it on its first Python build while it serves calls,
 * and the standard library is thousands of files and a compile of them: done synchronously, it held the agent's event
 * loop for 4–7 s (every call, heartbeat and log line on the node waiting).
 */
async function writeContext(dir: string, py: PythonHost): Promise<void> {
  const root = join(dir, 'rootfs');
  const put = async (from: string, to: string) => {
    await mkdir(dirname(join(root, to)), { recursive: true });
    await copyFile(from, join(root, to));
  };
  await mkdir(join(root, 'opt', 'cpub'), { recursive: true });
  await writeFile(join(root, PYTHON_SHIM_PATH), shimSource());
  await put(py.binary, PYTHON_IN_IMAGE);
  const libs = new Set(await sharedLibraries(py.binary));
  // The standard library, without what no function needs; its extension modules' libraries (ssl, ffi, …) too.
  const stdlibTo = join(root, py.stdlib);
  await mkdir(stdlibTo, { recursive: true });
  for (const entry of await readdir(py.stdlib)) {
    if (LEFT_OUT.has(entry) || entry.startsWith('config-')) continue;
    await cp(join(py.stdlib, entry), join(stdlibTo, entry), { recursive: true, dereference: true, filter: (src) => basename(src) !== '__pycache__' && !LEFT_OUT.has(basename(src)) });
  }
  const dynload = join(py.stdlib, 'lib-dynload');
  if (existsSync(dynload)) {
    for (const so of await readdir(dynload)) {
      if (!so.endsWith('.so')) continue;
      try {
        for (const lib of await sharedLibraries(join(dynload, so))) libs.add(lib);
      } catch {
        // a module whose libraries are not installed: it fails to import in the image as it does here
      }
    }
  }
  for (const lib of libs) if (existsSync(lib)) await put(await realpath(lib), lib);
  // Compiled ahead (the image is read-only at run time): checked by hash, not by the copies' times.
  await promisify(execFile)(py.binary, ['-I', '-m', 'compileall', '-q', '-j', '0', '--invalidation-mode', 'unchecked-hash', '-d', py.stdlib, stdlibTo], { encoding: 'utf8', maxBuffer: 16 * 2 ** 20 }).catch((err: { stdout?: string; stderr?: string; message: string }) => {
    throw new AgentError('unavailable', 'python_compile_failed', `compiling the standard library failed: ${(err.stderr || err.stdout || err.message).trim().slice(0, 500)}`);
  });
  await mkdir(join(root, 'etc'), { recursive: true });
  await writeFile(join(root, 'etc', 'passwd'), `root:x:0:0:root:/root:/sbin/nologin\nfn:x:${FUNCTION_UID}:${FUNCTION_UID}:function:/app:/sbin/nologin\n`);
  await writeFile(join(root, 'etc', 'group'), `root:x:0:\nfn:x:${FUNCTION_UID}:\n`);
  for (const d of ['tmp', 'app', 'run/cpub']) await mkdir(join(root, d), { recursive: true });
  await chmod(join(root, 'tmp'), 0o1777);
  await writeFile(
    join(dir, 'Containerfile'),
    [
      'FROM scratch',
      'COPY rootfs/ /',
      `USER ${FUNCTION_UID}:${FUNCTION_UID}`,
      'WORKDIR /app',
      'ENV LANG=C.UTF-8',
      // -I: isolated (no PYTHON* variables, no user site); -B: no bytecode written.
      `ENTRYPOINT ["${PYTHON_IN_IMAGE}", "-I", "-B", "${PYTHON_SHIM_PATH}"]`,
      '',
    ].join('\n'),
  );
}

/**
 * Builds the Python runtime image unless it is already present: its tag, and whether it was built now. `host`: the
 * host's Python and the image's tag when the caller has them (each costs ≈ 40 ms of the event loop to find).
 */
export async function ensurePythonImage(runtime: ContainerRuntime, dataDir: string, onLog?: (line: string) => void, host?: { py: PythonHost; tag: string }): Promise<{ tag: string; built: boolean }> {
  const py = host?.py ?? hostPython();
  if (!py) throw new AgentError('unavailable', 'no_python', 'this host has no Python 3 with its standard library (/usr/bin/python3; apt-get install python3)');
  const tag = host?.tag ?? pythonImageTag(py);
  if (await runtime.imageExists(tag)) return { tag, built: false };
  mkdirSync(join(dataDir, 'build'), { recursive: true });
  const dir = mkdtempSync(join(dataDir, 'build', 'runtime-python-'));
  try {
    await writeContext(dir, py);
    const context = tar.c({ cwd: dir, portable: true }, ['Containerfile', 'rootfs']);
    await runtime.buildImage(context as unknown as NodeJS.ReadableStream, tag, { labels: { 'containerpub.role': 'runtime', [LANGUAGE_LABEL]: 'python' }, timeoutMs: 5 * 60_000, onLog });
    return { tag, built: true };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
