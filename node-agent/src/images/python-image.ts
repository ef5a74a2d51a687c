// The Python runtime image, assembled offline like the Node one (runtime-image.ts): this host's Python 3 (Debian's
// python3), the shared libraries it and its extension modules link, its standard library (compiled ahead, since
// the image is read-only at run time), a passwd entry for the unprivileged user, and the Python shim
// (shim/python/shim.py). Functions are built FROM it with `ENV CPUB_BUNDLE=/app/<entry>` like any runtime's.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
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

function writeContext(dir: string, py: PythonHost): void {
  const root = join(dir, 'rootfs');
  const put = (from: string, to: string) => {
    mkdirSync(dirname(join(root, to)), { recursive: true });
    copyFileSync(from, join(root, to));
  };
  mkdirSync(join(root, 'opt', 'cpub'), { recursive: true });
  writeFileSync(join(root, PYTHON_SHIM_PATH), shimSource());
  put(py.binary, PYTHON_IN_IMAGE);
  const libs = new Set(sharedLibraries(py.binary));
  // The standard library, without what no function needs; its extension modules' libraries (ssl, ffi, …) too.
  const stdlibTo = join(root, py.stdlib);
  mkdirSync(stdlibTo, { recursive: true });
  for (const entry of readdirSync(py.stdlib)) {
    if (LEFT_OUT.has(entry) || entry.startsWith('config-')) continue;
    cpSync(join(py.stdlib, entry), join(stdlibTo, entry), { recursive: true, dereference: true, filter: (src) => basename(src) !== '__pycache__' && !LEFT_OUT.has(basename(src)) });
  }
  const dynload = join(py.stdlib, 'lib-dynload');
  if (existsSync(dynload)) {
    for (const so of readdirSync(dynload)) {
      if (!so.endsWith('.so')) continue;
      try {
        for (const lib of sharedLibraries(join(dynload, so))) libs.add(lib);
      } catch {
        // a module whose libraries are not installed: it fails to import in the image as it does here
      }
    }
  }
  for (const lib of libs) if (existsSync(lib)) put(realpathSync(lib), lib);
  // Compiled ahead (the image is read-only at run time): checked by hash, not by the copies' times.
  const compiled = spawnSync(py.binary, ['-I', '-m', 'compileall', '-q', '-j', '0', '--invalidation-mode', 'unchecked-hash', '-d', py.stdlib, stdlibTo], { encoding: 'utf8' });
  if (compiled.status !== 0) throw new AgentError('unavailable', 'python_compile_failed', `compiling the standard library failed: ${(compiled.stderr || compiled.stdout).trim().slice(0, 500)}`);
  mkdirSync(join(root, 'etc'), { recursive: true });
  writeFileSync(join(root, 'etc', 'passwd'), `root:x:0:0:root:/root:/sbin/nologin\nfn:x:${FUNCTION_UID}:${FUNCTION_UID}:function:/app:/sbin/nologin\n`);
  writeFileSync(join(root, 'etc', 'group'), `root:x:0:\nfn:x:${FUNCTION_UID}:\n`);
  for (const d of ['tmp', 'app', 'run/cpub']) mkdirSync(join(root, d), { recursive: true });
  chmodSync(join(root, 'tmp'), 0o1777);
  writeFileSync(
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

/** Builds the Python runtime image unless it is already present: its tag, and whether it was built now. */
export async function ensurePythonImage(runtime: ContainerRuntime, dataDir: string, onLog?: (line: string) => void): Promise<{ tag: string; built: boolean }> {
  const py = hostPython();
  if (!py) throw new AgentError('unavailable', 'no_python', 'this host has no Python 3 with its standard library (/usr/bin/python3; apt-get install python3)');
  const tag = pythonImageTag(py);
  if (await runtime.imageExists(tag)) return { tag, built: false };
  mkdirSync(join(dataDir, 'build'), { recursive: true });
  const dir = mkdtempSync(join(dataDir, 'build', 'runtime-python-'));
  try {
    writeContext(dir, py);
    const context = tar.c({ cwd: dir, portable: true }, ['Containerfile', 'rootfs']);
    await runtime.buildImage(context as unknown as NodeJS.ReadableStream, tag, { labels: { 'containerpub.role': 'runtime', [LANGUAGE_LABEL]: 'python' }, timeoutMs: 5 * 60_000, onLog });
    return { tag, built: true };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
