// Test helpers for the agent: artifacts made from inline sources, and a Podman service of the test's own.
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as tar from 'tar';

/** Writes `files` into a folder and packs them as a .tar.gz artifact; returns its path and sha256. */
export async function makeArtifact(files: Record<string, string>): Promise<{ path: string; digest: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'cpub-artifact-'));
  const src = join(dir, 'src');
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(dirname(join(src, name)), { recursive: true });
    writeFileSync(join(src, name), content);
  }
  const path = join(dir, 'artifact.tar.gz');
  await tar.c({ gzip: true, file: path, cwd: src, portable: true }, Object.keys(files));
  return { path, digest: createHash('sha256').update(readFileSync(path)).digest('hex') };
}

/** A function artifact whose index.mjs default-exports `handler` (source text of a function). */
export function fnArtifact(handler: string, extra: Record<string, string> = {}) {
  return makeArtifact({
    'containerpub.json': JSON.stringify({ name: 'test', entry: 'index.mjs' }),
    'index.mjs': `export default ${handler};\n`,
    ...extra,
  });
}
