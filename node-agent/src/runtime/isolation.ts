// What fences function containers in beyond Podman's defaults: a seccomp profile of our own (Podman's default
// less namespace creation and the calls container escapes rely on), and host user ids of their own for every
// container (a user namespace from the `containers` subordinate range), so the per-uid process budget, and
// anything that escapes, belong to one container.
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AgentError } from '../errors.js';

/** Where Podman's packages put the default profile (an operator's copy in /etc wins). */
const DEFAULT_PROFILES = ['/etc/containers/seccomp.json', '/usr/share/containers/seccomp.json'];

/** Always refused (EPERM): entering or making namespaces, the kernel keyring, and what escapes have relied on. */
export const DENIED_SYSCALLS = ['unshare', 'setns', 'keyctl', 'add_key', 'request_key', 'userfaultfd', 'bpf', 'perf_event_open', 'kexec_load', 'kexec_file_load', 'open_by_handle_at'];

/** clone(2)'s namespace flags: NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET (Docker's mask). */
const CLONE_NS = { NEWNS: 0x00020000, NEWCGROUP: 0x02000000, NEWUTS: 0x04000000, NEWIPC: 0x08000000, NEWUSER: 0x10000000, NEWPID: 0x20000000, NEWNET: 0x40000000 };
const CLONE_NS_MASK = Object.values(CLONE_NS).reduce((a, b) => a + b, 0);
const S390 = ['s390', 's390x'];

interface SeccompRule {
  names: string[];
  action: string;
  errnoRet?: number;
  args?: { index: number; value: number; valueTwo: number; op: string }[] | null;
  includes?: { arches?: string[]; caps?: string[] } | null;
  excludes?: { arches?: string[]; caps?: string[] } | null;
  comment?: string;
}

/**
 * Our profile from Podman's default: the same rules less `clone`, `clone3` and DENIED_SYSCALLS; clone allowed
 * only without namespace flags (EPERM with one); clone3 answers ENOSYS (its flags sit in a struct seccomp
 * cannot read, and glibc falls back to clone); DENIED_SYSCALLS answer EPERM.
 */
export function functionSeccompProfile(base: { syscalls: SeccompRule[] } & Record<string, unknown>): Record<string, unknown> {
  const removed = new Set([...DENIED_SYSCALLS, 'clone', 'clone3']);
  const rules: SeccompRule[] = [];
  for (const rule of base.syscalls) {
    const names = rule.names.filter((n) => !removed.has(n));
    if (names.length) rules.push({ ...rule, names });
  }
  const masked = (index: number, value: number, valueTwo: number) => [{ index, value, valueTwo, op: 'SCMP_CMP_MASKED_EQ' }];
  rules.push(
    { names: ['clone'], action: 'SCMP_ACT_ALLOW', args: masked(0, CLONE_NS_MASK, 0), excludes: { arches: S390 }, comment: 'clone without namespace flags' },
    { names: ['clone'], action: 'SCMP_ACT_ALLOW', args: masked(1, CLONE_NS_MASK, 0), includes: { arches: S390 }, comment: 'clone without namespace flags (s390: flags are the second argument)' },
    ...Object.entries(CLONE_NS).map(([name, bit]) => ({ names: ['clone'], action: 'SCMP_ACT_ERRNO', errnoRet: 1, args: masked(0, bit, bit), excludes: { arches: S390 }, comment: `clone with CLONE_${name}` })),
    { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38, comment: 'ENOSYS: glibc falls back to clone, whose flags seccomp can read' },
    { names: DENIED_SYSCALLS, action: 'SCMP_ACT_ERRNO', errnoRet: 1, comment: 'namespaces, keyring, userfaultfd, bpf, perf, kexec, open_by_handle_at' },
  );
  return { ...base, syscalls: rules };
}

/** Writes our profile next to the agent's data; returns its path (Podman reads it when it creates a container). */
export function installSeccompProfile(dataDir: string): string {
  const source = DEFAULT_PROFILES.find((p) => existsSync(p));
  if (!source) throw new AgentError('unavailable', 'no_seccomp_default', `Podman's default seccomp profile is missing (${DEFAULT_PROFILES.join(' or ')}; Debian package containers-common)`);
  const profile = functionSeccompProfile(JSON.parse(readFileSync(source, 'utf8')));
  const path = join(dataDir, 'seccomp.json');
  writeFileSync(path, JSON.stringify(profile, null, 1) + '\n', { mode: 0o644 });
  return path;
}

/** Every container's user namespace is this size: equal sizes keep Podman's first-fit allocator from splitting one. */
export const USERNS_SIZE = 65536;
/** The subordinate range Podman's `--userns=auto` allocates from (the range its documentation suggests). */
const CONTAINERS_RANGE = 'containers:2147483647:2147483648';

/**
 * Makes sure /etc/subuid and /etc/subgid give the `containers` user a range (rootful only): `--userns=auto`
 * needs one. Returns what it did, for the log; throws when it cannot.
 */
export function ensureContainersRange(files = { subuid: '/etc/subuid', subgid: '/etc/subgid' }): string[] {
  const added: string[] = [];
  for (const file of [files.subuid, files.subgid]) {
    const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
    if (/^containers:\d+:\d+\s*$/m.test(text)) continue;
    try {
      appendFileSync(file, `${text && !text.endsWith('\n') ? '\n' : ''}${CONTAINERS_RANGE}\n`, { mode: 0o644 });
    } catch (err) {
      throw new AgentError('unavailable', 'no_subordinate_ids', `cannot add "${CONTAINERS_RANGE}" to ${file}: ${(err as Error).message}`);
    }
    added.push(`${file}: ${CONTAINERS_RANGE}`);
  }
  return added;
}

/** How function containers are fenced in on this node, beyond Podman's defaults. */
export interface Isolation {
  /** Absolute path of our seccomp profile. */
  seccompProfile: string;
  /** Each container gets host uids of its own (`--userns=auto:size=USERNS_SIZE`); false rootless. */
  ownUids: boolean;
}

/** Prepares the isolation this host allows; `log` hears about changes made to the host. */
export function prepareIsolation(dataDir: string, rootless: boolean, log: (msg: string) => void = () => {}): Isolation {
  const seccompProfile = installSeccompProfile(dataDir);
  // Rootless, Podman cannot use idmapped mounts: every new mapping would copy the image (≈100 MB, ≈300 ms).
  if (rootless) return { seccompProfile, ownUids: false };
  for (const line of ensureContainersRange()) log(`added ${line} (subordinate ids for per-container user namespaces)`);
  return { seccompProfile, ownUids: true };
}
