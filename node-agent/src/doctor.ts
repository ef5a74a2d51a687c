// `cpub-agent doctor`: checks, with a real probe container, what this host can do for functions — and says
// plainly what it cannot (e.g. limits not enforced rootless on cgroup v1) instead of pretending.
import type { ContainerRuntime, EngineInfo } from './runtime/container-runtime.js';
import type { HostFacts } from './runtime/host.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { runConformance } from './conformance/kit.js';
import { hostPython } from './images/python-image.js';
import { Runtimes } from './images/runtimes.js';
import { ensureRuntimeImage, FUNCTION_UID, NODE_PATH, type RuntimeImageOptions } from './images/runtime-image.js';
import { prepareIsolation, USERNS_SIZE, type Isolation } from './runtime/isolation.js';

/** The host's unshare(1) (util-linux), run in a probe to see that our seccomp profile refuses namespaces. */
const UNSHARE = '/usr/bin/unshare';

export interface Check {
  name: string;
  status: 'ok' | 'warn' | 'fail';
  detail: string;
}

export interface ProbeReport {
  uid: number;
  capEff: string;
  noNewPrivs: string;
  memoryLimit: number | null;
  pidsLimit: number | null;
  cpuQuota: number | null;
  rootWritable: boolean;
  interfaces: string[];
}

/** Limits the probe asks for, and reads back from inside. */
export const PROBE_LIMITS = { memoryBytes: 64 * 2 ** 20, cpus: 0.5, pidsLimit: 64 };

/** Runs inside the probe container (plain Node, no dependencies): reports what the container really got. */
const PROBE_SCRIPT = `
const fs = require('fs');
const read = (p) => { try { return fs.readFileSync(p, 'utf8').trim(); } catch { return null; } };
const num = (v) => (v === null || v === 'max' ? null : Number(v.split(' ')[0]));
const status = read('/proc/self/status') || '';
const field = (k) => (status.match(new RegExp(k + ':\\\\s*(\\\\S+)')) || [])[1];
const v2cpu = read('/sys/fs/cgroup/cpu.max');
let rootWritable = true;
try { fs.writeFileSync('/probe', 'x'); } catch { rootWritable = false; }
const dev = read('/proc/net/dev') || '';
process.stdout.write(JSON.stringify({
  uid: process.getuid(),
  capEff: field('CapEff'),
  noNewPrivs: field('NoNewPrivs'),
  memoryLimit: num(read('/sys/fs/cgroup/memory/memory.limit_in_bytes') ?? read('/sys/fs/cgroup/memory.max')),
  pidsLimit: num(read('/sys/fs/cgroup/pids/pids.max') ?? read('/sys/fs/cgroup/pids.max')),
  cpuQuota: v2cpu ? (v2cpu.startsWith('max') ? null : Number(v2cpu.split(' ')[0]) / Number(v2cpu.split(' ')[1])) :
    (num(read('/sys/fs/cgroup/cpu/cpu.cfs_quota_us')) > 0 ? num(read('/sys/fs/cgroup/cpu/cpu.cfs_quota_us')) / num(read('/sys/fs/cgroup/cpu/cpu.cfs_period_us')) : null),
  rootWritable,
  interfaces: dev.split('\\n').slice(2).map((l) => l.split(':')[0].trim()).filter(Boolean),
}));
`;

export interface DoctorResult {
  checks: Check[];
  limitsEnforced: boolean;
  limitNotes: string[];
  runtimeImage?: string;
  /** The isolation set up for function containers (our seccomp profile, per-container uids). */
  isolation?: Isolation;
  /** What Podman said of itself (its `info`: ≈ 0.8 s on these hosts, so the agent's start asks once). */
  info?: EngineInfo;
}

export async function runDoctor(runtime: ContainerRuntime, host: HostFacts, image: RuntimeImageOptions, onLog?: (line: string) => void, onChange?: (msg: string) => void, conformance?: { runtimes: Readonly<Record<string, string>> }): Promise<DoctorResult> {
  const checks: Check[] = [];
  const result: DoctorResult = { checks, limitsEnforced: false, limitNotes: [] };
  try {
    await runtime.ping();
  } catch (err) {
    checks.push({ name: 'podman', status: 'fail', detail: (err as Error).message });
    return result;
  }
  // Podman's info (≈ 0.8 s on these hosts) is asked while the runtime image is checked and the probes run; the
  // checks are reported in their order all the same.
  const containers = containerChecks(runtime, host, image, result, onChange, onLog);
  try {
    const info = (result.info = await runtime.info());
    checks.push({ name: 'podman', status: 'ok', detail: `Podman ${info.version}, OCI runtime ${info.ociRuntime}${host.ociRuntime ? ` (chosen: ${host.ociRuntime}, crun cannot run on this cgroup v1 host)` : ''}` });
    checks.push({ name: 'cgroups', status: 'ok', detail: `cgroup ${host.cgroupVersion}` });
    checks.push({ name: 'mode', status: 'ok', detail: host.rootless ? 'rootless (unprivileged user)' : 'rootful (root)' });
  } catch (err) {
    checks.push({ name: 'podman', status: 'fail', detail: (err as Error).message });
    await containers; // its findings go unreported: Podman itself is what is wrong
    return result;
  }
  const found = await containers;
  checks.push(...found.checks);
  if (!found.complete) return result;
  const isolation = result.isolation!;

  // `cpub-agent doctor` (not an agent's start): each runtime image against the runtime contract. The kits run
  // together (≈ 5 s each on these hosts, mostly waiting on Podman) and are reported in order.
  if (conformance) {
    const kit = async (name: string, imageRef: Promise<string>): Promise<Check> => {
      try {
        const ref = await imageRef;
        const rules = await runConformance({ runtime, image: ref, dataDir: join(image.dataDir, 'cf'), isolation });
        const failed = rules.filter((r) => !r.ok);
        return { name, status: failed.length ? 'fail' : 'ok', detail: failed.length ? failed.map((r) => `${r.rule}: ${r.detail}`).join('; ') : `${ref} passes the ${rules.length} rules of the runtime contract (cpub-agent conformance)` };
      } catch (err) {
        return { name, status: 'fail', detail: (err as Error).message };
      }
    };
    const kits: Promise<Check>[] = [kit('conformance', Promise.resolve(result.runtimeImage!))];
    // Python (assembled from the host's, unless the operator gives its image) and each of the operator's runtimes.
    const operator = conformance.runtimes;
    const runtimes = new Runtimes({ runtime, dataDir: image.dataDir, nodeImage: result.runtimeImage!, operator });
    const names = [...(operator.python === undefined && hostPython() ? ['python'] : []), ...Object.keys(operator)];
    if (operator.python === undefined && !hostPython()) kits.push(Promise.resolve({ name: 'python runtime', status: 'warn', detail: 'no Python 3 on this host (apt-get install python3): Python functions cannot run here' }));
    for (const name of names) kits.push(kit(name === 'python' ? 'python runtime' : `runtime ${name}`, runtimes.imageFor(name, onLog ?? (() => {}))));
    checks.push(...(await Promise.all(kits)));
  }
  return result;
}


/**
 * The doctor's checks that need containers — the runtime image, the isolation set up, and the probes (the limits and
 * isolation a function gets, and our seccomp profile) — in the order they are reported; `complete` false when one
 * failed that the rest depend on. Sets the result's runtime image, isolation and limits.
 */
async function containerChecks(runtime: ContainerRuntime, host: HostFacts, image: RuntimeImageOptions, result: DoctorResult, onChange?: (msg: string) => void, onLog?: (line: string) => void): Promise<{ checks: Check[]; complete: boolean }> {
  const found: Check[] = [];
  try {
    const { tag, built } = await ensureRuntimeImage(runtime, image, onLog);
    result.runtimeImage = tag;
    found.push({ name: 'runtime image', status: 'ok', detail: `${tag}${built ? ' (built now)' : ''}` });
  } catch (err) {
    found.push({ name: 'runtime image', status: 'fail', detail: (err as Error).message });
    return { checks: found, complete: false };
  }

  let isolation: Isolation;
  try {
    isolation = result.isolation = prepareIsolation(image.dataDir, host.rootless, onChange);
  } catch (err) {
    found.push({ name: 'isolation setup', status: 'fail', detail: (err as Error).message });
    return { checks: found, complete: false };
  }
  const fenced = { seccompProfile: isolation.seccompProfile, usernsSize: isolation.ownUids ? USERNS_SIZE : undefined };

  // The seccomp probe runs beside the first one (each is a container's create, start and removal: ≈ 1 s here).
  const seccomp = seccompCheck(runtime, result.runtimeImage!, fenced);
  let probe: ProbeReport;
  try {
    const r = await runtime.run(
      {
        ...fenced,
        image: result.runtimeImage!,
        entrypoint: [image.runtimeBase ? 'node' : NODE_PATH, '-e', PROBE_SCRIPT],
        labels: { 'containerpub.role': 'probe' },
        keepLogs: true,
        network: false,
        readOnlyRoot: true,
        tmpfsBytes: 16 * 2 ** 20,
        user: `${FUNCTION_UID}:${FUNCTION_UID}`,
        ulimits: { nofile: 1024, nproc: 1024 },
        ...PROBE_LIMITS,
      },
      60_000,
    );
    if (r.exitCode !== 0) throw new Error(`probe exited ${r.exitCode}: ${r.output.trim().slice(0, 500)}`);
    probe = JSON.parse(r.output) as ProbeReport;
    found.push({ name: 'container start', status: 'ok', detail: 'a probe container started and ran Node' });
  } catch (err) {
    found.push({ name: 'container start', status: 'fail', detail: (err as Error).message });
    await seccomp; // not reported: a container that does not start says all there is to say
    return { checks: found, complete: false };
  }

  const missing: string[] = [];
  if (probe.memoryLimit !== PROBE_LIMITS.memoryBytes) missing.push('memory');
  if (probe.pidsLimit !== PROBE_LIMITS.pidsLimit) missing.push('pids');
  if (probe.cpuQuota === null || Math.abs(probe.cpuQuota - PROBE_LIMITS.cpus) > 0.01) missing.push('cpu');
  result.limitsEnforced = missing.length === 0;
  if (!result.limitsEnforced) {
    const why = host.rootless && host.cgroupVersion === 'v1' ? 'rootless Podman cannot set cgroup limits on cgroup v1' : 'the probe container did not get them';
    result.limitNotes.push(`${missing.join(', ')} limits not enforced: ${why}`);
  }
  found.push({
    name: 'limits',
    status: result.limitsEnforced ? 'ok' : 'warn',
    detail: result.limitsEnforced ? 'memory, cpu and pids limits enforced (read back inside the probe)' : result.limitNotes.join('; '),
  });

  const problems: string[] = [];
  if (probe.uid === 0) problems.push('runs as root');
  if (!/^0+$/.test(probe.capEff ?? '')) problems.push(`capabilities ${probe.capEff}`);
  if (probe.noNewPrivs !== '1') problems.push('no-new-privileges off');
  if (probe.rootWritable) problems.push('root filesystem writable');
  if (probe.interfaces.some((i) => i !== 'lo')) problems.push(`network interfaces ${probe.interfaces.join(',')}`);
  found.push({
    name: 'isolation',
    status: problems.length ? 'fail' : 'ok',
    detail: problems.length ? problems.join('; ') : `uid ${probe.uid}, no capabilities, no-new-privileges, read-only root, only lo`,
  });
  found.push(await seccomp);
  found.push(
    isolation.ownUids
      ? { name: 'user namespaces', status: 'ok', detail: `each container gets ${USERNS_SIZE} host uids of its own (userns=auto, from the "containers" subordinate range)` }
      : { name: 'user namespaces', status: 'warn', detail: 'rootless: all containers share this user’s subordinate uids (per-container uids need rootful Podman)' },
  );
  return { checks: found, complete: true };
}

/** Runs the host's unshare(1) in a probe container under our profile: a new user namespace must be refused. */
async function seccompCheck(runtime: ContainerRuntime, image: string, fenced: { seccompProfile: string; usernsSize: number | undefined }): Promise<Check> {
  if (!existsSync(UNSHARE)) return { name: 'seccomp', status: 'warn', detail: `profile ${fenced.seccompProfile} installed; not checked (${UNSHARE} is missing)` };
  try {
    const r = await runtime.run(
      {
        ...fenced,
        image,
        entrypoint: ['/opt/cpub-probe/unshare', '--user', NODE_PATH, '-e', '0'],
        labels: { 'containerpub.role': 'probe' },
        keepLogs: true,
        network: false,
        readOnlyRoot: true,
        user: `${FUNCTION_UID}:${FUNCTION_UID}`,
        ulimits: { nofile: 1024, nproc: 1024 },
        mounts: [{ host: UNSHARE, container: '/opt/cpub-probe/unshare', readOnly: true }],
        ...PROBE_LIMITS,
      },
      60_000,
    );
    if (r.exitCode !== 0 && /Operation not permitted/.test(r.output)) {
      return { name: 'seccomp', status: 'ok', detail: `our profile (${fenced.seccompProfile}) refuses namespace creation, keyrings, bpf, perf and kexec` };
    }
    return { name: 'seccomp', status: 'fail', detail: `a function container could create a user namespace (unshare exited ${r.exitCode}: ${r.output.trim().slice(0, 200)})` };
  } catch (err) {
    return { name: 'seccomp', status: 'fail', detail: `the seccomp probe did not run: ${(err as Error).message}` };
  }
}
