// One image per function version: the artifact is checked again (the agent trusts nothing), unpacked into a
// build context, and built FROM the runtime image with a generated Containerfile. Idempotent by digest.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tar from 'tar';
import type { ContainerRuntime } from '../runtime/container-runtime.js';
import { extractArtifact, ArtifactError, type ArtifactLimits, DEFAULT_ARTIFACT_LIMITS } from '../../../common/artifact.js';
import { AgentError } from '../errors.js';

export interface FunctionBuild {
  functionId: string;
  version: number;
  /** sha256 of the artifact, hex. */
  digest: string;
  artifactPath: string;
  runtimeImage: string;
  timeoutMs: number;
}

export const LABELS = {
  managed: 'containerpub.managed',
  function: 'containerpub.function',
  version: 'containerpub.version',
  digest: 'containerpub.digest',
  epoch: 'containerpub.epoch',
  node: 'containerpub.node',
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
  if (await runtime.imageExists(image)) return { image, imageId: image, cached: true };
  mkdirSync(join(dataDir, 'build'), { recursive: true });
  const dir = mkdtempSync(join(dataDir, 'build', 'fn-'));
  try {
    mkdirSync(join(dir, 'app'));
    let entry: string;
    try {
      entry = (await extractArtifact(b.artifactPath, join(dir, 'app'), limits)).entry;
    } catch (err) {
      if (err instanceof ArtifactError) throw new AgentError('invalid', `artifact_${err.code}`, err.entry ? `${err.detail} (${err.entry})` : err.detail);
      throw err;
    }
    writeFileSync(join(dir, 'Containerfile'), [`FROM ${b.runtimeImage}`, 'COPY app/ /app/', `ENV CPUB_BUNDLE=${JSON.stringify(`/app/${entry}`)}`, ''].join('\n'));
    onLog?.(`building ${image} for version ${b.version}`);
    const context = tar.c({ cwd: dir, portable: true }, ['Containerfile', 'app']);
    const imageId = await runtime.buildImage(context as unknown as NodeJS.ReadableStream, image, {
      labels: { 'containerpub.role': 'function', [LABELS.managed]: 'true', [LABELS.function]: b.functionId, [LABELS.version]: String(b.version), [LABELS.digest]: b.digest },
      timeoutMs: b.timeoutMs,
      onLog,
    });
    return { image, imageId, cached: false };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
