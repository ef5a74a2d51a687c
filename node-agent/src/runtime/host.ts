// What the host is: cgroup version, rootless or not, which OCI runtime can start containers here.
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

export interface HostFacts {
  cgroupVersion: 'v1' | 'v2';
  rootless: boolean;
  /** The OCI runtime to ask Podman for, when the default would fail (crun on cgroup v1 hybrid hosts). */
  ociRuntime: string | undefined;
  runcPresent: boolean;
}

function onPath(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

export function detectHost(): HostFacts {
  const cgroupVersion = existsSync('/sys/fs/cgroup/cgroup.controllers') ? 'v2' : 'v1';
  const runcPresent = onPath('runc');
  return {
    cgroupVersion,
    rootless: process.getuid?.() !== 0,
    // crun fails on these cgroup v1 hybrid hosts; runc works.
    ociRuntime: cgroupVersion === 'v1' && runcPresent ? 'runc' : undefined,
    runcPresent,
  };
}
