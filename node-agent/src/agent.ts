// Wires the agent from its configuration: Podman → host probe → runtime image → pools → gRPC server.
import { randomBytes, randomUUID } from 'node:crypto';
import { chmodSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { totalmem, cpus } from 'node:os';
import * as grpc from '@grpc/grpc-js';
import type { AgentConfig } from './config.js';
import { readPemFile } from '../../common/pem.js';
import type { Logger } from '../../common/logger.js';
import { readOrCreateKeyFile } from '../../common/key-files.js';
import { requireCredential, credentialMatches } from '../../proto/auth.js';
import { MAX_MESSAGE_BYTES } from '../../proto/loader.js';
import { detectHost } from './runtime/host.js';
import { PodmanService } from './runtime/podman-service.js';
import { PodmanRuntime } from './runtime/podman.js';
import { runDoctor } from './doctor.js';
import { Pools } from './pool/pools.js';
import { bundleFor } from './images/function-image.js';
import { Runtimes } from './images/runtimes.js';
import { AgentService, type NodeFacts } from './grpc/agent-service.js';
import { localSocketPath } from './local-client.js';
import { VERSION } from '../../common/version.js';

export interface Agent {
  facts: NodeFacts;
  /** The address the gRPC server is bound to (host:port). */
  address: string;
  credential: string;
  /** Lets calls in flight finish briefly, removes every container of this agent and stops its Podman service; resolves with how many containers it removed. */
  stop(): Promise<number>;
}

/** Registers with the control plane (retrying while it is unreachable); returns the node credential it issued. */
/** TLS from the PEM files when configured: the per-node credential then never crosses the network in clear. */
function serverCredentials(config: AgentConfig): grpc.ServerCredentials {
  if (!config.tlsCert || !config.tlsKey) return grpc.ServerCredentials.createInsecure();
  return grpc.ServerCredentials.createSsl(null, [{ cert_chain: readPemFile(config.tlsCert, 'CPUB_AGENT_TLS_CERT'), private_key: readPemFile(config.tlsKey, 'CPUB_AGENT_TLS_KEY') }], false);
}

async function joinControlPlane(server: string, body: { joinToken: string; nodeId: string; name: string; advertise: string; credential: string; tls: boolean }, log: Logger): Promise<string> {
  const url = new URL('/api/agents/register', server);
  for (let attempt = 1; ; attempt++) {
    let res: Response;
    try {
      res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(10_000) });
    } catch (err) {
      if (attempt >= 30) throw new Error(`cannot reach ${server} to join: ${(err as Error).message}`);
      log.warn({ server, attempt }, 'control plane unreachable; retrying');
      await new Promise((r) => setTimeout(r, 1000));
      continue;
    }
    const reply = (await res.json().catch(() => ({}))) as { credential?: string; detail?: string; code?: string };
    if (!res.ok || !reply.credential) throw new Error(`joining ${server} failed: ${reply.code ?? res.status} — ${reply.detail ?? 'no credential in the answer'}`);
    log.info({ server, advertise: body.advertise }, 'joined the control plane');
    return reply.credential;
  }
}

/** How long stop() lets calls in flight finish before it cuts the gRPC connections. */
const SHUTDOWN_GRACE_MS = 3000;

export async function startAgent(config: AgentConfig, log: Logger): Promise<Agent> {
  const host = detectHost();
  const service = config.podmanSocket ? undefined : new PodmanService(config.dataDir, host.ociRuntime);
  const runtime = service ? await service.start() : new PodmanRuntime(config.podmanSocket!);
  let pools: Pools | undefined;
  let server: grpc.Server | undefined;
  try {
    const doctor = await runDoctor(runtime, host, { dataDir: config.dataDir, runtimeBase: config.runtimeBase }, (line) => log.debug({ line }, 'runtime image build'), (msg) => log.info(msg));
    const failed = doctor.checks.filter((c) => c.status === 'fail');
    if (failed.length) throw new Error(`this host cannot run functions: ${failed.map((c) => `${c.name}: ${c.detail}`).join('; ')}`);
    if (!doctor.limitsEnforced) log.warn({ notes: doctor.limitNotes }, 'resource limits are NOT enforced on this node');
    const info = doctor.info ?? (await runtime.info());
    // Kept in the data folder (0600) either way, so `cpub-agent status` and `drain` on this host can use it.
    if (config.credential) writeFileSync(join(config.dataDir, 'node-credential'), config.credential + '\n', { mode: 0o600 });
    let credential = readOrCreateKeyFile(config.dataDir, 'node-credential', () => randomBytes(32).toString('base64url'));
    const nodeId = readOrCreateKeyFile(config.dataDir, 'node-id', () => randomUUID());
    const epoch = randomUUID();
    const facts: NodeFacts = {
      nodeId,
      epoch,
      agentVersion: VERSION,
      podmanVersion: info.version,
      ociRuntime: host.ociRuntime ?? info.ociRuntime,
      cgroupVersion: host.cgroupVersion,
      rootless: host.rootless,
      limitsEnforced: doctor.limitsEnforced,
      limitNotes: doctor.limitNotes,
      runtimeImage: doctor.runtimeImage!,
      capacity: { memoryBytes: config.maxMemory ?? Math.floor(totalmem() * 0.75), cpus: cpus().length, maxContainers: config.maxContainers },
      storageDir: info.storageDir && existsSync(info.storageDir) ? info.storageDir : config.dataDir,
    };
    let svc: AgentService | undefined;
    pools = new Pools(runtime, {
      isolation: doctor.isolation!,
      dataDir: config.dataDir,
      nodeId,
      epoch,
      logCapBytes: 256 * 1024,
      streamIdleMs: config.streamIdle,
      idleTimeoutMs: config.idleTimeout,
      keepAlive: { mode: config.keepAlive, minMs: config.keepAliveMin, maxMs: config.keepAliveMax },
      maxContainers: config.maxContainers,
      maxMemoryBytes: facts.capacity.memoryBytes,
      stemsPerShape: config.stemCells,
      runtimeImage: doctor.runtimeImage!,
      bundleFor: (image) => bundleFor(config.dataDir, image),
      onCallLine: (spec, invocationId, line) => svc?.publishLog(spec.functionId, spec.version, invocationId, line),
      onExit: (spec, containerId, state) => svc?.publishExit(spec.functionId, spec.version, containerId, state),
    });
    const orphans = await pools.start();
    // The operator's runtime images (pulled when missing), and Python's when an earlier run built it: their
    // functions get stems from the first cold start.
    const agentPools = pools;
    const runtimes = new Runtimes({ runtime, dataDir: config.dataDir, nodeImage: doctor.runtimeImage!, operator: config.runtimes, onImage: (name, image) => agentPools.setRuntimeImage(name, image) });
    // Runtime images of earlier shim, Node or Python versions that no function image is built on any more: removed
    // while the agent starts and serves (listing images takes Podman ≈ 0.5 s here; the images in use stay, see
    // pruneImages). Each kept as the current one of its repository: this agent's Node image, the host's Python's.
    const current = async () => [doctor.runtimeImage!, ...[runtimes.assembledPythonTag()].filter((t) => t !== undefined)];
    const pruning = current()
      .then((keep) => Promise.all(keep.map((tag) => runtime.pruneImages({ 'containerpub.role': 'runtime' }, tag).catch(() => 0))))
      .catch(() => [0])
      .then((n) => {
        const pruned = n.reduce((a, b) => a + b, 0);
        if (pruned) log.info({ removed: pruned }, 'removed runtime images of earlier versions');
      });
    await runtimes.prepare((name, line) => log.info({ runtime: name, line }, 'runtime image'));
    for (const [name, why] of runtimes.problems) log.error({ runtime: name, image: config.runtimes[name], why }, 'a runtime image is not on this node: functions naming it are not placed here');
    if (orphans) log.info({ removed: orphans }, 'removed containers left by an earlier agent');
    svc = new AgentService({ facts, runtime, pools, dataDir: config.dataDir, log, runtimes });
    const grpcServer = (server = new grpc.Server({ interceptors: [requireCredential((t) => credentialMatches(credential, t))], 'grpc.enable_channelz': 0, 'grpc.max_receive_message_length': MAX_MESSAGE_BYTES }));
    svc.addToServer(grpcServer);
    const port = await new Promise<number>((resolve, reject) =>
      grpcServer.bindAsync(config.listen, serverCredentials(config), (err, p) => (err ? reject(err) : resolve(p))),
    );
    const address = `${config.listen.slice(0, config.listen.lastIndexOf(':'))}:${port}`;
    // The same API on a unix socket only this user can open, for `cpub-agent status` and `drain` on this host.
    const local = localSocketPath(config.dataDir);
    rmSync(local, { force: true });
    await new Promise<void>((resolve, reject) => grpcServer.bindAsync(`unix:${local}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())));
    chmodSync(local, 0o600);
    if (config.server) {
      if (!config.joinToken) throw new Error('--server needs --join-token (from `cpub-server join-token`)');
      credential = await joinControlPlane(config.server, { joinToken: config.joinToken, nodeId, name: config.name, advertise: config.advertise ?? address, credential, tls: Boolean(config.tlsCert) }, log);
      writeFileSync(join(config.dataDir, 'node-credential'), credential + '\n', { mode: 0o600 });
    }
    let stopping: Promise<number> | undefined;
    return {
      facts,
      address,
      credential,
      stop() {
        stopping ??= (async () => {
          svc?.closeWatchers();
          // Calls in flight get a few seconds; the control plane's InvokeStream never ends on its own, so a
          // graceful shutdown alone would wait for ever (and the containers below would never be removed).
          await new Promise<void>((resolve) => {
            const force = setTimeout(() => {
              grpcServer.forceShutdown();
              resolve();
            }, SHUTDOWN_GRACE_MS);
            grpcServer.tryShutdown(() => {
              clearTimeout(force);
              resolve();
            });
          });
          rmSync(local, { force: true });
          const removed = await agentPools.stop();
          await pruning;
          await service?.stop();
          return removed;
        })();
        return stopping;
      },
    };
  } catch (err) {
    // Nothing of a failed start stays: the gRPC server, the first stem, the Podman service.
    server?.forceShutdown();
    await pools?.stop().catch(() => {});
    await service?.stop();
    throw err;
  }
}
