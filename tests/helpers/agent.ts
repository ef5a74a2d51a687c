// Test helpers for the agent: artifacts made from inline sources, and a Podman service of the test's own.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { artifact } from '../../node-agent/src/conformance/kit.js';
import type { AgentClient } from '../../proto/loader.js';

/** The folders artifacts were made in: removed when the process exits (a run of the suite makes hundreds). */
const made: string[] = [];
process.once('exit', () => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** Writes `files` into a folder and packs them as a .tar.gz artifact; returns its path and sha256. */
export function makeArtifact(files: Record<string, string | Buffer>): Promise<{ path: string; digest: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'cpub-artifact-'));
  made.push(dir);
  return artifact(dir, files);
}

/** A function artifact whose index.mjs default-exports `handler` (source text of a function). */
export function fnArtifact(handler: string, extra: Record<string, string | Buffer> = {}) {
  return makeArtifact({
    'containerpub.json': JSON.stringify({ name: 'test', entry: 'index.mjs' }),
    'index.mjs': `export default ${handler};\n`,
    ...extra,
  });
}

export interface BuildEventOut {
  epoch: string;
  log?: { line: string } | null;
  result?: { image: string; cached: boolean } | null;
}

/** Streams an artifact to an agent's Build (16 KiB chunks); resolves with every event it sent back. */
export async function buildOverGrpc(client: AgentClient, functionId: string, version: number, art: { path: string; digest: string }): Promise<BuildEventOut[]> {
  const call = client.Build({ deadline: Date.now() + 300_000 });
  const events: BuildEventOut[] = [];
  const done = new Promise<void>((resolve, reject) => {
    call.on('data', (e: BuildEventOut) => events.push(e));
    call.on('end', resolve);
    call.on('error', reject);
  });
  const bytes = readFileSync(art.path);
  call.write({ header: { functionId, version, digest: art.digest, sizeBytes: bytes.length, timeoutMs: 300_000 } });
  for (let i = 0; i < bytes.length; i += 16 * 1024) call.write({ chunk: bytes.subarray(i, i + 16 * 1024) });
  call.end();
  await done;
  return events;
}

/** The image a Build produced. */
export async function buildImageOverGrpc(client: AgentClient, functionId: string, art: { path: string; digest: string }): Promise<string> {
  const image = (await buildOverGrpc(client, functionId, 1, art)).find((e) => e.result)?.result?.image;
  if (!image) throw new Error('Build ended without a result');
  return image;
}

/** An InvokeRequest for a GET / on version 1, with defaults a test overrides as it needs. */
export function invokeMessage(functionId: string, image: string, over: { limits?: object; request?: object; deadlineMs?: number; [k: string]: unknown } = {}) {
  const { limits, request, ...rest } = over;
  return {
    invocationId: randomUUID(),
    functionId,
    functionName: 'test',
    version: 1,
    image,
    deadlineMs: Date.now() + 30_000,
    ...rest,
    limits: { memoryMb: 128, cpus: 0.5, timeoutMs: 10_000, concurrency: 1, maxInstances: 2, network: false, ...limits },
    request: { method: 'GET', path: '/', query: '', headers: [], body: Buffer.alloc(0), ...request },
  };
}
