// Turns a function folder into the artifact the platform takes: its entry (TypeScript or JavaScript) bundled
// by esbuild into one ES module (dependencies inlined, with a source map for stack traces), beside a
// containerpub.json naming it, packed as .tar.gz. The same folder always packs to the same bytes (fixed
// times and order), so its sha256 says whether what is deployed is up to date. Used by `npm start` (the
// example it deploys) and the CLI.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve, sep } from 'node:path';
import * as esbuild from 'esbuild';
import * as tar from 'tar';
import type { Manifest } from './artifact.js';

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
