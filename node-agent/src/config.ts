// The agent's configuration: one zod schema over CPUB_AGENT_* variables and `cpub-agent start` flags, parsed once.
import { resolve } from 'node:path';
import { hostname } from 'node:os';
import { z } from 'zod';
import { duration, parseSettings, type Parsed } from '../../common/settings.js';
import { RUNTIME_NAME } from '../../common/artifact.js';
import { DEFAULT_BOUNDS } from './pool/keep-alive.js';

const bytes = z
  .string()
  .regex(/^\d+(\.\d+)?\s*([kmgt]i?b?)?$/i, 'must be a size like 512m, 8g or 1073741824')
  .transform((v) => {
    const m = /^(\d+(?:\.\d+)?)\s*([kmgt])?/i.exec(v)!;
    const unit = { k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 }[(m[2] ?? '').toLowerCase() as 'k'] ?? 1;
    return Math.floor(Number(m[1]) * unit);
  });

/** `name=image[,name=image…]`: the operator's runtime images by name (`node` is the agent's own). */
const runtimeImages = z
  .string()
  .optional()
  .transform((v, ctx) => {
    const out: Record<string, string> = {};
    for (const pair of (v ?? '').split(',').map((p) => p.trim()).filter(Boolean)) {
      const at = pair.indexOf('=');
      const name = at > 0 ? pair.slice(0, at).trim() : '';
      const image = at > 0 ? pair.slice(at + 1).trim() : '';
      if (!name || !image) ctx.addIssue({ code: 'custom', message: `"${pair}" must be name=image (e.g. python-ml=registry.example.com/runtimes/python-ml:3.11)` });
      else if (!RUNTIME_NAME.test(name)) ctx.addIssue({ code: 'custom', message: `runtime name "${name}" must be 1–32 lowercase letters, digits or dashes, starting with a letter` });
      else if (name === 'node') ctx.addIssue({ code: 'custom', message: 'the runtime "node" is the agent’s own (its base image is --runtime-base)' });
      else if (/\s/.test(image)) ctx.addIssue({ code: 'custom', message: `image "${image}" of runtime ${name} contains white space` });
      else if (out[name] !== undefined) ctx.addIssue({ code: 'custom', message: `runtime ${name} is given twice` });
      else out[name] = image;
    }
    return out;
  });

export const agentSettings = {
  server: { env: 'CPUB_AGENT_SERVER', flag: 'server', help: 'control plane URL to join', schema: z.url({ message: 'must be an http(s) URL' }).optional() },
  name: {
    env: 'CPUB_AGENT_NAME',
    flag: 'name',
    help: 'this node’s name in `cpub nodes` (default: the host name); unique among live nodes',
    schema: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'must be 1–63 letters, digits, dots, dashes or underscores, starting with a letter or digit')
      .default(() => hostname().slice(0, 63) || 'node'),
  },
  joinToken: { env: 'CPUB_AGENT_JOIN_TOKEN', flag: 'join-token', help: 'join token from `cpub-server join-token`', schema: z.string().min(16).optional() },
  listen: { env: 'CPUB_AGENT_LISTEN', flag: 'listen', help: 'gRPC listen address host:port', schema: z.string().regex(/^.+:\d+$/, 'must be host:port').default('127.0.0.1:9191') },
  advertise: { env: 'CPUB_AGENT_ADVERTISE', flag: 'advertise', help: 'address the server dials (default: --listen)', schema: z.string().regex(/^.+:\d+$/, 'must be host:port').optional() },
  dataDir: {
    env: 'CPUB_AGENT_DATA_DIR',
    flag: 'data-dir',
    help: 'agent data folder (podman socket, build contexts, credential); a relative one is taken from the current folder',
    // Absolute from here on: it becomes a unix socket URL (unix://<dir>/podman/podman.sock) and container mounts.
    schema: z
      .string()
      .min(1)
      .default('./data/agent')
      .transform((p) => resolve(p)),
  },
  podmanSocket: {
    env: 'CPUB_AGENT_PODMAN_SOCKET',
    flag: 'podman-socket',
    help: 'Podman API socket; unset → the agent runs its own `podman system service` on a private socket',
    schema: z.string().min(1).optional(),
  },
  maxMemory: { env: 'CPUB_AGENT_MAX_MEMORY', flag: 'max-memory', help: 'memory for functions on this node (e.g. 8g); default: 75% of the host', schema: bytes.optional() },
  maxContainers: { env: 'CPUB_AGENT_MAX_CONTAINERS', flag: 'max-containers', help: 'containers at most', schema: z.coerce.number().int().min(1).max(10_000).default(100) },
  runtimeBase: {
    env: 'CPUB_AGENT_RUNTIME_BASE',
    flag: 'runtime-base',
    help: 'base image with Node for the runtime image (needs a registry); unset → assembled from this host’s Node',
    schema: z.string().min(1).optional(),
  },
  runtimes: {
    env: 'CPUB_AGENT_RUNTIMES',
    flag: 'runtime',
    help: 'another runtime image by name, name=image (functions select it with "runtime" in containerpub.json; pulled when not here, so it needs a registry or an image built on this host; python=image replaces the assembled Python runtime); several are comma-separated in the variable',
    repeatable: true,
    schema: runtimeImages,
  },
  idleTimeout: { env: 'CPUB_AGENT_IDLE_TIMEOUT', flag: 'idle-timeout', help: 'stop warm containers idle this long (with --keep-alive learned: until a version’s call pattern is known)', schema: duration.default(300_000) },
  keepAlive: {
    env: 'CPUB_AGENT_KEEP_ALIVE',
    flag: 'keep-alive',
    help: 'learned: each version’s idle time follows its calls (released after a call and started again shortly before the next when it has learned the gap; the hybrid histogram policy); fixed: always --idle-timeout',
    schema: z.enum(['learned', 'fixed']).default('learned'),
  },
  streamIdle: { env: 'CPUB_AGENT_STREAM_IDLE', flag: 'stream-idle', help: 'a streamed answer fails when the function sends nothing for this long while its caller is reading (e.g. 30s)', schema: duration.default(30_000) },
  keepAliveMin: { env: 'CPUB_AGENT_KEEP_ALIVE_MIN', flag: 'keep-alive-min', help: 'a learned keep-alive is at least this', schema: duration.default(DEFAULT_BOUNDS.minMs) },
  keepAliveMax: { env: 'CPUB_AGENT_KEEP_ALIVE_MAX', flag: 'keep-alive-max', help: 'a learned keep-alive is at most this (a version whose calls come after a regular longer gap is released and prewarmed instead; a higher bound buys more warm calls for more memory: see bench/README.md "scaling")', schema: duration.default(DEFAULT_BOUNDS.maxMs) },
  stemCells: {
    env: 'CPUB_AGENT_STEM_CELLS',
    flag: 'stem-cells',
    help: 'started containers with no function kept ready per limit shape, so a cold call skips container start (0: none)',
    schema: z.coerce.number().int().min(0).max(16).default(1),
  },
  tlsCert: {
    env: 'CPUB_AGENT_TLS_CERT',
    flag: 'tls-cert',
    help: 'PEM certificate file; with --tls-key the agent serves gRPC over TLS (and tells the server so when joining)',
    schema: z.string().min(1).optional(),
  },
  tlsKey: { env: 'CPUB_AGENT_TLS_KEY', flag: 'tls-key', help: 'PEM private key file for --tls-cert', schema: z.string().min(1).optional() },
  credential: {
    env: 'CPUB_AGENT_CREDENTIAL',
    flag: 'credential',
    help: 'node credential every gRPC call must carry (set by joining; unset → generated into the data folder)',
    schema: z.string().min(24, 'must be at least 24 characters').optional(),
  },
  logLevel: { env: 'CPUB_AGENT_LOG_LEVEL', flag: 'log-level', help: 'fatal | error | warn | info | debug | trace | silent', schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') },
} as const;

export type AgentConfig = Parsed<typeof agentSettings>;

/** 107 bytes of a unix socket path, less `/run/`, a container's name (≤ 40) and `/mux.sock`. */
export const MAX_DATA_DIR_BYTES = 107 - '/run/'.length - 40 - '/mux.sock'.length;

export function loadAgentConfig(env: Record<string, string | undefined>, flags: Record<string, string | undefined> = {}): AgentConfig {
  return parseSettings(agentSettings, env, flags, (v) => [
    ...(Boolean(v.tlsCert) !== Boolean(v.tlsKey) ? ['CPUB_AGENT_TLS_CERT and CPUB_AGENT_TLS_KEY (--tls-cert, --tls-key): set both or neither'] : []),
    ...((v.keepAliveMin as number) > (v.keepAliveMax as number) ? ['CPUB_AGENT_KEEP_ALIVE_MIN (--keep-alive-min) is more than CPUB_AGENT_KEEP_ALIVE_MAX (--keep-alive-max)'] : []),
    // Containers' sockets live at <data dir>/run/<container name>/mux.sock, and a unix socket's path has at most 107 bytes.
    ...(Buffer.byteLength(v.dataDir as string) > MAX_DATA_DIR_BYTES ? [`CPUB_AGENT_DATA_DIR (--data-dir) ${v.dataDir} is ${Buffer.byteLength(v.dataDir as string)} bytes long: at most ${MAX_DATA_DIR_BYTES}, since function containers' unix sockets are made below it (a socket's path has at most 107 bytes)`] : []),
  ]);
}
