// The ContainerRuntime over Podman's Docker-compatible REST API. The only file that imports dockerode.
import Docker from 'dockerode';
import { engineMessage, type ContainerRuntime, type ContainerSpec, type ContainerState, type ContainerSummary, type EngineInfo, type IdRange, type RunResult } from './container-runtime.js';
import { AgentError } from '../errors.js';

export class PodmanRuntime implements ContainerRuntime {
  private readonly docker: Docker;

  constructor(readonly socketPath: string) {
    this.docker = new Docker({ socketPath });
  }

  async ping(): Promise<void> {
    try {
      await this.docker.ping();
    } catch (err) {
      throw new AgentError('unavailable', 'engine_unavailable', `Podman does not answer on ${this.socketPath}: ${(err as Error).message}`);
    }
  }

  async info(): Promise<EngineInfo> {
    const [version, info] = await Promise.all([this.docker.version(), this.docker.info()]);
    const i = info as { CgroupVersion?: string; DefaultRuntime?: string; SecurityOptions?: string[]; DockerRootDir?: string };
    return {
      version: version.Version,
      ociRuntime: i.DefaultRuntime ?? 'unknown',
      cgroupVersion: i.CgroupVersion ?? 'unknown',
      rootless: (i.SecurityOptions ?? []).some((o) => o.includes('rootless')),
      storageDir: i.DockerRootDir,
    };
  }

  async imageLabels(ref: string): Promise<Record<string, string> | undefined> {
    try {
      const info = (await this.docker.getImage(ref).inspect()) as { Config?: { Labels?: Record<string, string> | null }; Labels?: Record<string, string> | null };
      return info.Config?.Labels ?? info.Labels ?? {};
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) return undefined;
      throw err;
    }
  }

  async imageExists(ref: string): Promise<boolean> {
    try {
      await this.docker.getImage(ref).inspect();
      return true;
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) return false;
      throw err;
    }
  }

  async pullImage(ref: string, opts: { timeoutMs: number; onLog?: (line: string) => void }): Promise<void> {
    let stream: NodeJS.ReadableStream | undefined;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        (stream as unknown as { destroy?: () => void } | undefined)?.destroy?.();
        reject(new AgentError('unavailable', 'pull_timeout', `pulling ${ref} did not finish in ${opts.timeoutMs} ms`));
      }, opts.timeoutMs);
    });
    const pull = (async () => {
      try {
        stream = (await this.docker.pull(ref)) as NodeJS.ReadableStream;
      } catch (err) {
        throw new AgentError('unavailable', 'pull_failed', `pulling ${ref} failed: ${engineMessage(err)}`);
      }
      let failure: string | undefined;
      await new Promise<void>((resolve, reject) =>
        this.docker.modem.followProgress(
          stream!,
          (err) => (err ? reject(new AgentError('unavailable', 'pull_failed', `pulling ${ref} failed: ${err.message}`)) : resolve()),
          (event: { status?: string; error?: string; progress?: string }) => {
            if (event.error) opts.onLog?.((failure = event.error.trimEnd()));
            else if (event.status) opts.onLog?.(`${event.status}${event.progress ? ` ${event.progress}` : ''}`);
          },
        ),
      );
      // Podman reports a failed pull as an error event and still ends the stream well: the image must be here now.
      if (!(await this.imageExists(ref))) throw new AgentError('unavailable', 'pull_failed', `pulling ${ref} failed: ${failure ?? 'the engine did not store it'}`);
    })();
    try {
      await Promise.race([pull, timeout]);
    } finally {
      clearTimeout(timer);
      pull.catch(() => {}); // lost the race to the timeout: its own failure is of no interest
    }
  }

  async buildImage(context: NodeJS.ReadableStream, tag: string, opts: { labels: Record<string, string>; timeoutMs: number; onLog?: (line: string) => void }): Promise<string> {
    // `layers: false` (Podman's): the steps are committed once, as one image. With layers, each step is an image of its
    // own (four a function version: the store, and every listing of it, grows four times as fast), and the build
    // first looks for cached steps by reading every image in the store — slower as the store grows (with layers, a
    // build took 5 s beside 1,300 images and 1.9 s beside 15), and failed by one image another service left broken.
    // Nothing here would hit that cache: a function image is built once per artifact digest.
    const stream = await this.docker.buildImage(context, { t: tag, labels: opts.labels, rm: true, forcerm: true, dockerfile: 'Containerfile', layers: false } as Parameters<Docker['buildImage']>[1]);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        (stream as unknown as { destroy?: () => void }).destroy?.();
        reject(new AgentError('unavailable', 'build_timeout', `image build did not finish in ${opts.timeoutMs} ms`));
      }, opts.timeoutMs);
    });
    let builtId: string | undefined;
    const done = new Promise<void>((resolve, reject) =>
      this.docker.modem.followProgress(
        stream,
        (err) => (err ? reject(new AgentError('invalid', 'build_failed', err.message)) : resolve()),
        (event: { stream?: string; error?: string; aux?: { ID?: string } }) => {
          if (event.error) opts.onLog?.(event.error.trimEnd());
          if (event.aux?.ID) builtId = event.aux.ID;
          for (const line of (event.stream ?? '').split('\n')) if (line.trim()) opts.onLog?.(line.trimEnd());
        },
      ),
    );
    try {
      await Promise.race([done, timeout]);
    } finally {
      clearTimeout(timer);
    }
    // Several Podman services on one image store (agents, or an agent and `podman` itself, on one host) can
    // lose a tag another one has just written (Podman 4.3): the image is there by its id, so tag it again.
    for (let attempt = 0; ; attempt++) {
      try {
        return (await this.docker.getImage(tag).inspect()).Id;
      } catch (err) {
        if ((err as { statusCode?: number }).statusCode !== 404 || attempt >= 5) throw err;
        if (builtId) {
          const at = tag.lastIndexOf(':');
          await this.docker
            .getImage(builtId)
            .tag({ repo: tag.slice(0, at), tag: tag.slice(at + 1) })
            .catch(() => {});
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  /**
   * Podman 4.3 fails a whole image listing with 500 "image not known" when an image goes away while it lists
   * (another process removing one): such a listing is tried again.
   */
  private async listImages(labels: Record<string, string>) {
    for (let attempt = 0; ; attempt++) {
      try {
        return (await this.docker.listImages({ filters: labelFilter(labels) })).filter((i) => hasLabels(i.Labels, labels));
      } catch (err) {
        if ((err as { json?: { cause?: string } }).json?.cause !== 'image not known' || attempt >= 5) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  async removeImages(labels: Record<string, string>): Promise<number> {
    const images = await this.listImages(labels);
    for (const img of images) await this.docker.getImage(img.Id).remove({ force: true }).catch(ignore404);
    return images.length;
  }

  async pruneImages(labels: Record<string, string>, keep: string): Promise<number> {
    // Only images tagged like `keep` (same repository): an untagged one may be another process's build in the
    // middle of being committed, and it carries its base image's labels until it is tagged.
    const repo = keep.slice(0, keep.lastIndexOf(':') + 1);
    const images = (await this.listImages(labels)).filter((i) => {
      const tags = (i.RepoTags ?? []).filter((t) => t !== '<none>:<none>');
      return tags.length > 0 && tags.every((t) => t.startsWith(repo)) && !tags.includes(keep);
    });
    let removed = 0;
    for (const img of images) {
      // Without force: an image a function image is built FROM, or a container runs, stays (409).
      removed += await this.docker
        .getImage(img.Id)
        .remove()
        .then(
          () => 1,
          () => 0,
        );
    }
    return removed;
  }

  async create(spec: ContainerSpec): Promise<string> {
    const c = await this.docker.createContainer({
      name: spec.name,
      Image: spec.image,
      Cmd: spec.cmd,
      Entrypoint: spec.entrypoint,
      Env: Object.entries(spec.env ?? {}).map(([k, v]) => `${k}=${v}`),
      Labels: spec.labels,
      User: spec.user,
      HostConfig: {
        NetworkMode: spec.network ? 'bridge' : 'none',
        ReadonlyRootfs: spec.readOnlyRoot,
        Memory: spec.memoryBytes,
        MemorySwap: spec.memoryBytes, // swap = memory: no swapping past the limit
        NanoCpus: spec.cpus ? Math.round(spec.cpus * 1e9) : undefined,
        PidsLimit: spec.pidsLimit,
        CapDrop: ['ALL'],
        // A profile is passed by path: Podman 4.3's compatible API cannot take its text (as Docker's does).
        SecurityOpt: ['no-new-privileges', ...(spec.seccompProfile ? [`seccomp=${spec.seccompProfile}`] : [])],
        UsernsMode: spec.usernsSize ? `auto:size=${spec.usernsSize}` : undefined,
        // Podman 4.3 forces mode 1755 on tmpfs mounts; U chowns /tmp to the container user instead.
        Tmpfs: spec.tmpfsBytes ? { '/tmp': `rw,nosuid,nodev,noexec,size=${spec.tmpfsBytes},U` } : undefined,
        Binds: (spec.mounts ?? []).map((m) => `${m.host}:${m.container}:${m.readOnly ? 'ro' : 'rw'}`),
        // Function output reaches the agent through the shim's log socket: nothing piles up on disk.
        LogConfig: { Type: spec.keepLogs ? 'k8s-file' : 'none', Config: {} },
        Ulimits: [
          { Name: 'nofile', Soft: spec.ulimits.nofile, Hard: spec.ulimits.nofile },
          { Name: 'nproc', Soft: spec.ulimits.nproc, Hard: spec.ulimits.nproc },
        ],
      },
    });
    return c.id;
  }

  async start(id: string): Promise<void> {
    await this.docker.getContainer(id).start();
  }

  async inspect(id: string): Promise<ContainerState> {
    const s = (await this.docker.getContainer(id).inspect()).State;
    return { running: s.Running, exitCode: s.ExitCode, oomKilled: s.OOMKilled, pid: s.Pid };
  }

  /**
   * Force-removes a container. Podman 4.3 refuses while the container is in the middle of exiting (its own
   * cleanup racing ours), so a refusal is retried for up to 2 s before it is reported.
   */
  async remove(id: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.docker.getContainer(id).remove({ force: true });
        return;
      } catch (err) {
        if ((err as { statusCode?: number }).statusCode === 404) return;
        if (attempt >= 10) throw err;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  async idMap(id: string): Promise<{ uid: IdRange[]; gid: IdRange[] }> {
    // Only Podman's own API tells the map before the container starts (the compatible inspect has no field for it).
    const body = await new Promise<{ HostConfig?: { IDMappings?: { UidMap?: string[]; GidMap?: string[] } } }>((resolve, reject) =>
      this.docker.modem.dial({ path: `/v4.0.0/libpod/containers/${encodeURIComponent(id)}/json`, method: 'GET', statusCodes: { 200: true, 404: 'no such container' } }, (err, data) =>
        err ? reject(err) : resolve(data as never),
      ),
    );
    const parse = (lines: string[] | undefined): IdRange[] =>
      (lines ?? []).map((l) => {
        const [container, host, size] = l.split(':').map(Number);
        return { container: container!, host: host!, size: size! };
      });
    return { uid: parse(body.HostConfig?.IDMappings?.UidMap), gid: parse(body.HostConfig?.IDMappings?.GidMap) };
  }

  async rename(id: string, name: string): Promise<void> {
    await this.docker.getContainer(id).rename({ name });
  }

  async list(labels: Record<string, string>): Promise<ContainerSummary[]> {
    const rows = (await this.docker.listContainers({ all: true, filters: labelFilter(labels) })).filter((r) => hasLabels(r.Labels, labels));
    return rows.map((r) => ({ id: r.Id, labels: r.Labels ?? {}, state: r.State }));
  }

  async run(spec: ContainerSpec, timeoutMs: number): Promise<RunResult> {
    const id = await this.create(spec);
    const c = this.docker.getContainer(id);
    try {
      await c.start();
      const waited = c.wait() as Promise<{ StatusCode: number }>;
      let timer: NodeJS.Timeout | undefined;
      const r = await Promise.race([
        waited,
        new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new AgentError('unavailable', 'probe_timeout', `probe container did not finish in ${timeoutMs} ms`)), timeoutMs))),
      ]).finally(() => clearTimeout(timer));
      const logs = (await c.logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer;
      return { exitCode: r.StatusCode, output: demux(logs) };
    } finally {
      await this.remove(id);
    }
  }
}

/** Docker's multiplexed log framing: 8-byte headers (stream, 0, 0, 0, size×4) before each chunk. */
function demux(buf: Buffer): string {
  const parts: Buffer[] = [];
  let i = 0;
  while (i + 8 <= buf.length && (buf[i] === 1 || buf[i] === 2) && buf[i + 1] === 0) {
    const size = buf.readUInt32BE(i + 4);
    parts.push(buf.subarray(i + 8, i + 8 + size));
    i += 8 + size;
  }
  return (i === 0 ? buf : Buffer.concat(parts)).toString('utf8');
}

/**
 * Podman 4.3 ORs several label filters on images (Docker ANDs them), so we send the first one to narrow the
 * listing and check all of them ourselves.
 */
function labelFilter(labels: Record<string, string>): Record<string, string[]> {
  const first = Object.entries(labels)[0];
  return first ? { label: [`${first[0]}=${first[1]}`] } : {};
}

function hasLabels(actual: Record<string, string> | undefined, wanted: Record<string, string>): boolean {
  return Object.entries(wanted).every(([k, v]) => actual?.[k] === v);
}

/** A container or image that is already gone. Podman 4.3 answers 500 "image not known" for an image removed
 * between a listing and the removal (two tags of one image, removed one after the other). */
function ignore404(err: { statusCode?: number; json?: { cause?: string } }) {
  if (err?.statusCode !== 404 && err?.json?.cause !== 'image not known' && err?.json?.cause !== 'no such container') throw err;
}
