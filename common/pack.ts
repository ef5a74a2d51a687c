// Turns a function folder into the artifact the platform takes: its entry (TypeScript or JavaScript) bundled
// by esbuild into one ES module (dependencies inlined, with a source map for stack traces), beside a
// containerpub.json naming it, packed as .tar.gz. The same folder always packs to the same bytes (fixed
// times and order), so its sha256 says whether what is deployed is up to date. Used by `npm start` (the
// example it deploys) and the CLI.
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import * as esbuild from 'esbuild';
import * as tar from 'tar';
import { RUNTIME_NAME, type Manifest } from './artifact.js';

export interface Packed {
  bytes: Buffer;
  /** sha256 of `bytes`, hex: what the server calls the deployment's digest. */
  digest: string;
  manifest: Manifest;
  /** Bytes of the bundled entry. */
  bundleBytes: number;
}

/** A folder that cannot be packed: the message says why, naming the file or dependency. */
export class PackError extends Error {}

const EPOCH = new Date('2000-01-01T00:00:00Z');

export function readManifest(dir: string): Manifest {
  const file = join(dir, 'containerpub.json');
  if (!existsSync(file)) throw new PackError(`${file} is missing: run \`cpub init\` or add one ({"name": "...", "entry": "index.ts"})`);
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Manifest;
  } catch (err) {
    throw new PackError(`${file}: ${(err as Error).message}`);
  }
}

export async function packFunction(folder: string): Promise<Packed> {
  const dir = resolve(folder);
  const manifest = readManifest(dir);
  const runtime = manifest.runtime ?? 'node';
  if (typeof runtime !== 'string' || !RUNTIME_NAME.test(runtime)) throw new PackError(`containerpub.json names the runtime ${JSON.stringify(runtime)}: a runtime's name is 1–32 lowercase letters, digits or dashes ("node", the default; "python"; or one your operator runs)`);
  // How to pack: by the runtime's language — Node's and Python's by their own runtimes, an operator's by its
  // "language" when the manifest gives it, else the folder's files as they are.
  const language = manifest.language ?? (runtime === 'node' || runtime === 'python' ? runtime : undefined);
  if (language !== undefined && language !== 'node' && language !== 'python') throw new PackError(`containerpub.json names the language ${JSON.stringify(language)}: "node" or "python" (leave it out to pack the folder's files as they are)`);
  if (language === 'python') return packPython(dir, manifest);
  if (language === undefined) return packFiles(dir, manifest, manifest.entry, new Set(['.git']));
  const entry = join(dir, manifest.entry || 'index.ts');
  if (!existsSync(entry)) throw new PackError(`the entry ${manifest.entry || 'index.ts'} named in containerpub.json is not in ${dir}`);
  const out = mkdtempSync(join(tmpdir(), 'cpub-pack-'));
  try {
    let result: esbuild.BuildResult<{ metafile: true }>;
    try {
      result = await esbuild.build({
        entryPoints: [entry],
        // Paths in the bundle's comments are relative to the folder, so the digest does not depend on where
        // the folder is or where cpub runs.
        absWorkingDir: dir,
        bundle: true,
        platform: 'node',
        format: 'esm',
        target: 'node20',
        outfile: join(out, 'index.mjs'),
        sourcemap: 'external',
        sourcesContent: false,
        metafile: true,
        logLevel: 'silent',
        // Bundled CommonJS dependencies may call require(): give the ES module one.
        banner: { js: "import { createRequire as __cpubCreateRequire } from 'node:module'; const require = __cpubCreateRequire(import.meta.url);" },
      });
    } catch (err) {
      throw new PackError(describeBuildFailure(err as esbuild.BuildFailure));
    }
    const output = Object.entries(result.metafile.outputs).find(([file]) => file.endsWith('index.mjs'))?.[1];
    if (!output?.exports.includes('default')) {
      throw new PackError(`${manifest.entry || 'index.ts'} has no default export: export default a function (request, ctx) => Response, or an object with fetch()`);
    }
    // The source map names sources relative to its own (temporary) folder: make them relative to the function's.
    const mapFile = join(out, 'index.mjs.map');
    const map = JSON.parse(readFileSync(mapFile, 'utf8')) as { sources: string[] };
    map.sources = map.sources.map((src) => relative(dir, resolve(out, src)).split(sep).join('/'));
    writeFileSync(mapFile, JSON.stringify(map));
    const packedManifest = { ...manifest, entry: 'index.mjs' };
    writeFileSync(join(out, 'containerpub.json'), JSON.stringify(packedManifest, null, 2));
    const files = ['containerpub.json', 'index.mjs', 'index.mjs.map'];
    for (const f of files) utimesSync(join(out, f), EPOCH, EPOCH);
    const chunks: Buffer[] = [];
    const stream = tar.c({ gzip: true, cwd: out, portable: true, mtime: EPOCH, noDirRecurse: true }, files);
    for await (const c of stream as unknown as AsyncIterable<Buffer>) chunks.push(c);
    const bytes = Buffer.concat(chunks);
    return { bytes, digest: createHash('sha256').update(bytes).digest('hex'), manifest: packedManifest, bundleBytes: readFileSync(join(out, 'index.mjs')).length };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/** Folders of a Python function folder that are never packed. */
const PY_SKIPPED = new Set(['.git', '__pycache__', '.venv', 'venv', 'node_modules', 'vendor', '.mypy_cache', '.pytest_cache']);

/**
 * A Python function: its files as they are (sources, data), plus its dependencies vendored into `vendor/` from a
 * `requirements.txt` with this machine's pip — pure-Python wheels only (the function runs on the platform's
 * Python, whatever this machine is): a package without one, or a wheel with compiled code, is named.
 */
async function packPython(dir: string, manifest: Manifest): Promise<Packed> {
  const entryName = manifest.entry || 'handler.py';
  const entry = join(dir, entryName);
  if (!existsSync(entry)) throw new PackError(`the entry ${entryName} named in containerpub.json is not in ${dir}`);
  if (!entryName.endsWith('.py')) throw new PackError(`the entry of a Python function is a .py file, not ${entryName}`);
  checkPythonEntry(entry, entryName);
  return packFiles(dir, manifest, entryName, PY_SKIPPED, (out, files) => {
    const requirements = join(dir, 'requirements.txt');
    if (existsSync(requirements) && readFileSync(requirements, 'utf8').split('\n').some((l) => l.trim() && !l.trim().startsWith('#'))) {
      vendor(requirements, join(out, 'vendor'));
      const vendored = (sub: string): string[] => readdirSync(join(out, sub), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? vendored(`${sub}/${e.name}`) : [`${sub}/${e.name}`]));
      const compiled = vendored('vendor').find((f) => /\.(so|pyd|dylib)$/.test(f));
      if (compiled) throw new PackError(`${compiled.split('/')[1]} has compiled code (${compiled}): Python functions take pure-Python packages only`);
      files.push(...vendored('vendor').filter((f) => !f.includes('/__pycache__/')));
    }
  });
}

/**
 * A folder's files as they are (less the `skipped` folders and compiled Python), beside its manifest, packed the
 * same way every time; `more` may add files to `out` (and name them in `files`) before it is packed.
 */
async function packFiles(dir: string, manifest: Manifest, entryName: string, skipped: ReadonlySet<string>, more?: (out: string, files: string[]) => void): Promise<Packed> {
  if (typeof entryName !== 'string' || !entryName) throw new PackError('containerpub.json must name its "entry" (the file the runtime loads)');
  if (!existsSync(join(dir, entryName))) throw new PackError(`the entry ${entryName} named in containerpub.json is not in ${dir}`);
  const out = mkdtempSync(join(tmpdir(), 'cpub-pack-'));
  try {
    const files: string[] = [];
    const walk = (rel: string) => {
      for (const e of readdirSync(join(dir, rel), { withFileTypes: true })) {
        const path = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) {
          if (!skipped.has(e.name)) walk(path);
        } else if (e.isFile() && path !== 'containerpub.json' && !e.name.endsWith('.pyc')) files.push(path);
      }
    };
    walk('');
    for (const f of files) {
      mkdirSync(dirname(join(out, f)), { recursive: true });
      copyFileSync(join(dir, f), join(out, f));
    }
    more?.(out, files);
    const packedManifest = { ...manifest, entry: entryName };
    writeFileSync(join(out, 'containerpub.json'), JSON.stringify(packedManifest, null, 2));
    const all = ['containerpub.json', ...files.sort()];
    for (const f of all) utimesSync(join(out, f), EPOCH, EPOCH);
    const chunks: Buffer[] = [];
    const stream = tar.c({ gzip: true, cwd: out, portable: true, mtime: EPOCH, noDirRecurse: true }, all);
    for await (const c of stream as unknown as AsyncIterable<Buffer>) chunks.push(c);
    const bytes = Buffer.concat(chunks);
    return { bytes, digest: createHash('sha256').update(bytes).digest('hex'), manifest: packedManifest, bundleBytes: files.reduce((n, f) => n + statSync(join(out, f)).size, 0) };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/** The entry parses, and defines handler(request, ctx) or an ASGI `app` (checked with this machine's Python, when it has one). */
function checkPythonEntry(entry: string, name: string): void {
  const script = [
    'import ast, sys',
    'src = open(sys.argv[1], encoding="utf-8").read()',
    'try:',
    '    tree = ast.parse(src, sys.argv[1])',
    'except SyntaxError as e:',
    '    print(f"line {e.lineno}: {e.msg}"); sys.exit(3)',
    'names = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))} | {t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)} | {a.asname or a.name for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}',
    'sys.exit(0 if "handler" in names or "app" in names else 4)',
  ].join('\n');
  const r = spawnSync('python3', ['-I', '-c', script, entry], { encoding: 'utf8' });
  if (r.error) return; // no Python here: the platform's startup check still runs it before it goes live
  if (r.status === 3) throw new PackError(`${name} does not parse: ${r.stdout.trim()}`);
  if (r.status === 4) throw new PackError(`${name} defines neither handler(request, ctx) nor an ASGI app`);
}

/** `pip install --target` of the requirements, wheels only; the package that has no wheel is named. */
function vendor(requirements: string, target: string): void {
  const r = spawnSync('python3', ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--no-compile', '--only-binary=:all:', '--target', target, '-r', requirements], { encoding: 'utf8', timeout: 10 * 60_000 });
  if (r.error) throw new PackError(`requirements.txt needs pip to vendor its packages: ${r.error.message} (install python3-pip)`);
  if (r.status === 0) return;
  const text = `${r.stderr}\n${r.stdout}`;
  const missing = /No matching distribution found for ([^\s]+)/.exec(text)?.[1];
  if (missing) throw new PackError(`${missing} has no pure-Python wheel that pip could find (a package that needs compiling cannot run on the platform's Python): pick a pure-Python alternative`);
  if (/No module named pip/.test(text)) throw new PackError('requirements.txt needs pip to vendor its packages (install python3-pip)');
  throw new PackError(`pip could not vendor requirements.txt: ${text.trim().split('\n').slice(-3).join(' ')}`);
}

/** esbuild's errors, in words: a native addon is named as such. */
function describeBuildFailure(err: esbuild.BuildFailure): string {
  const errors = err.errors ?? [];
  const native = errors.find((e) => /\.node"|No loader is configured for "\.node"/.test(e.text));
  if (native) {
    const where = native.location ? `${native.location.file}:${native.location.line}` : 'a dependency';
    return `a native addon cannot be bundled (${where}: ${native.text}); functions run plain JavaScript — pick a pure-JS alternative`;
  }
  if (!errors.length) return err.message;
  return errors
    .slice(0, 5)
    .map((e) => (e.location ? `${e.location.file}:${e.location.line}:${e.location.column}: ${e.text}` : e.text))
    .join('\n');
}
