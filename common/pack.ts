// Turns a function folder into the artifact the platform takes: its entry (TypeScript or JavaScript) bundled
// by esbuild into one ES module, beside a containerpub.json naming it, packed as .tar.gz. Used by `npm start`
// (the example it deploys) and the CLI.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import * as tar from 'tar';
import type { Manifest } from './artifact.js';

export interface Packed {
  bytes: Buffer;
  manifest: Manifest;
  /** Bytes of the bundled entry. */
  bundleBytes: number;
}

export async function packFunction(dir: string): Promise<Packed> {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(readFileSync(join(dir, 'containerpub.json'), 'utf8')) as Manifest;
  } catch (err) {
    throw new Error(`${join(dir, 'containerpub.json')}: ${(err as Error).message}`);
  }
  const out = mkdtempSync(join(tmpdir(), 'cpub-pack-'));
  try {
    await esbuild.build({
      entryPoints: [join(dir, manifest.entry || 'index.ts')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      outfile: join(out, 'index.mjs'),
      logLevel: 'silent',
      // Bundled CommonJS dependencies may call require(): give the ES module one.
      banner: { js: "import { createRequire as __cpubCreateRequire } from 'node:module'; const require = __cpubCreateRequire(import.meta.url);" },
    });
    const packedManifest = { ...manifest, entry: 'index.mjs' };
    writeFileSync(join(out, 'containerpub.json'), JSON.stringify(packedManifest, null, 2));
    const chunks: Buffer[] = [];
    const stream = tar.c({ gzip: true, cwd: out, portable: true }, ['containerpub.json', 'index.mjs']);
    for await (const c of stream as unknown as AsyncIterable<Buffer>) chunks.push(c);
    return { bytes: Buffer.concat(chunks), manifest: packedManifest, bundleBytes: readFileSync(join(out, 'index.mjs')).length };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
