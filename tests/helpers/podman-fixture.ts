// A private Podman service with the runtime image, for tests that drive the agent's pools directly: deploy
// builds a function image and answers its FunctionSpec; stop removes what the test built.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { PodmanService } from '../../node-agent/src/runtime/podman-service.js';
import type { ContainerRuntime } from '../../node-agent/src/runtime/container-runtime.js';
import { detectHost } from '../../node-agent/src/runtime/host.js';
import { prepareIsolation, type Isolation } from '../../node-agent/src/runtime/isolation.js';
import { ensureRuntimeImage } from '../../node-agent/src/images/runtime-image.js';
import { buildFunctionImage, LABELS } from '../../node-agent/src/images/function-image.js';
import type { FunctionSpec } from '../../node-agent/src/pool/types.js';
import { fnArtifact } from './agent.js';

export interface PodmanFixture {
  dir: string;
  runtime: ContainerRuntime;
  runtimeImage: string;
  /** The agent's isolation on this host (our seccomp profile, per-container uids when rootful). */
  isolation: Isolation;
  /** Builds `handler` as a function image; the spec's defaults: 128 MB, 0.5 CPU, 10 s, concurrency 1, 2 instances. */
  deploy(handler: string, over?: Partial<FunctionSpec>, files?: Record<string, string | Buffer>): Promise<FunctionSpec>;
  stop(): Promise<void>;
}

export async function podmanFixture(prefix: string): Promise<PodmanFixture> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const host = detectHost();
  const service = new PodmanService(dir, host.ociRuntime);
  const isolation = prepareIsolation(dir, host.rootless);
  const runtime = await service.start();
  const runtimeImage = (await ensureRuntimeImage(runtime, { dataDir: dir })).tag;
  const deployed: string[] = [];
  return {
    dir,
    runtime,
    runtimeImage,
    isolation,
    async deploy(handler, over = {}, files = {}) {
      const functionId = randomUUID();
      deployed.push(functionId);
      const version = over.version ?? 1;
      const art = await fnArtifact(handler, files);
      const { image } = await buildFunctionImage(runtime, dir, { functionId, version, digest: art.digest, artifactPath: art.path, runtimeImage, timeoutMs: 120_000 });
      return { functionId, name: 'test', version, image, memoryMb: 128, cpus: 0.5, timeoutMs: 10_000, concurrency: 1, maxInstances: 2, network: false, env: {}, ...over };
    },
    async stop() {
      for (const id of deployed) await runtime.removeImages({ [LABELS.function]: id });
      await service.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The after-hook of a pools suite: its pools stop (removing their containers), then the fixture, whatever failed. */
export async function stopPoolsAndFixture(pools: { stop(): Promise<unknown> } | undefined, fx: PodmanFixture | undefined): Promise<void> {
  try {
    await pools?.stop();
  } finally {
    await fx?.stop(); // its Podman service must not outlive the test
  }
}
