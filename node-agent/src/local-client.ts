// `cpub-agent status` and `cpub-agent drain`: talk to a running agent on this host over its gRPC API, with the
// credential from its data folder.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { createAgentClient, type AgentClient } from '../../proto/loader.js';
import { sendCredential } from '../../proto/auth.js';
import { fromGrpcError } from '../../proto/errors.js';
import type { AgentConfig } from './config.js';
import type { InfoReply__Output } from '../../proto/generated/containerpub/agent/v1/InfoReply.js';
import type { Heartbeat__Output } from '../../proto/generated/containerpub/agent/v1/Heartbeat.js';

/** The unix socket a running agent also serves its gRPC API on, for this host's `status` and `drain`. */
export const localSocketPath = (dataDir: string) => join(dataDir, 'agent.sock');

function connect(config: AgentConfig): AgentClient {
  let credential = config.credential;
  if (!credential) {
    try {
      credential = readFileSync(join(config.dataDir, 'node-credential'), 'utf8').trim();
    } catch {
      throw new Error(`no credential: pass --credential, or --data-dir of the running agent (read ${join(config.dataDir, 'node-credential')})`);
    }
  }
  // The agent's local socket in its data folder (owner only) when there is one: no network, no TLS needed.
  const local = localSocketPath(config.dataDir);
  return createAgentClient(existsSync(local) ? `unix:${local}` : config.listen, grpc.credentials.createInsecure(), { interceptors: [sendCredential(credential)] });
}

function explain(err: unknown, address: string): Error {
  const e = fromGrpcError(err);
  return new Error(e.kind === 'unavailable' ? `no agent answers on ${address}: ${e.detail}` : `${e.code} — ${e.detail}`);
}

export interface Status {
  info: InfoReply__Output;
  heartbeat: Heartbeat__Output | null;
}

export async function agentStatus(config: AgentConfig): Promise<Status> {
  const client = connect(config);
  try {
    const info = await new Promise<InfoReply__Output>((resolve, reject) =>
      client.Info({}, { deadline: Date.now() + 5000 }, (err, r) => (err ? reject(explain(err, config.listen)) : resolve(r!))),
    );
    const heartbeat = await new Promise<Heartbeat__Output | null>((resolve) => {
      const call = client.Watch({ heartbeatMs: 1000 }, { deadline: Date.now() + 5000 });
      call.on('data', (e: { heartbeat: Heartbeat__Output | null }) => {
        if (!e.heartbeat) return;
        resolve(e.heartbeat);
        call.cancel();
      });
      call.on('error', () => resolve(null));
    });
    return { info, heartbeat };
  } finally {
    client.close();
  }
}

export function formatStatus({ info, heartbeat }: Status): string {
  const gib = (b: number) => `${(b / 2 ** 30).toFixed(1)} GiB`;
  const lines = [
    `node       ${info.nodeId}   epoch ${info.epoch}   ${info.draining ? 'DRAINING' : 'accepting calls'}`,
    `versions   agent ${info.agentVersion}, Podman ${info.podmanVersion}, OCI runtime ${info.ociRuntime}, cgroup ${info.cgroupVersion}, ${info.rootless ? 'rootless' : 'rootful'}`,
    `limits     ${info.limitsEnforced ? 'enforced' : `NOT enforced: ${info.limitNotes.join('; ')}`}`,
    `capacity   ${gib(Number(info.capacity?.memoryBytes ?? 0))} memory, ${info.capacity?.cpus} CPUs, ${info.capacity?.maxContainers} containers`,
    `in use     ${info.usage?.containers ?? 0} containers, ${info.usage?.inFlight ?? 0} calls in flight`,
    `runtimes   ${(info.runtimes ?? []).map((r) => (r.image ? `${r.name} (${r.image})` : `${r.name} (assembled on first use)`)).join(', ')}`,
  ];
  const warm = heartbeat?.warm ?? [];
  lines.push(warm.length ? 'warm       function                               version  idle  busy' : 'warm       none');
  for (const w of warm) lines.push(`           ${w.functionId.padEnd(38)} ${String(w.version).padStart(7)} ${String(w.idle).padStart(5)} ${String(w.busy).padStart(5)}`);
  return lines.join('\n');
}

export async function agentDrain(config: AgentConfig): Promise<{ inFlight: number; drained: boolean }> {
  const client = connect(config);
  try {
    return await new Promise((resolve, reject) =>
      client.Drain({ wait: true }, { deadline: Date.now() + 10 * 60_000 }, (err, r) => (err ? reject(explain(err, config.listen)) : resolve(r!))),
    );
  } finally {
    client.close();
  }
}
