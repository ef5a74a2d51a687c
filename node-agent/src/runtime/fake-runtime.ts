// A ContainerRuntime in memory, for unit tests: containers and images with labels, failures on demand, and a
// record of what the agent asked for. Starting a container brings up a FakeShim on the sockets in its mounted
// folder, so pools serve real calls over unix sockets without Podman. Nothing is isolated or limited: limits
// are recorded, not enforced, and inspect reports no pid (so no cgroup is read).
import { join } from 'node:path';
import type { ContainerRuntime, ContainerSpec, ContainerState, ContainerSummary, EngineInfo, IdRange, RunResult } from './container-runtime.js';
import { FakeShim, type FakeHandler } from './fake-shim.js';
import { AgentError } from '../errors.js';

export interface FakeImage {
  labels?: Record<string, string>;
  /** What a container of this image does with a call; unset (a runtime image): it answers 503 until a stem's init. */
  handler?: FakeHandler;
  /** The function fails to load: its container logs this and exits 70 before it makes its sockets. */
  loadError?: string;
  /**
   * With loadError: the process exits before the engine's start returns, and the start fails as Podman's does
   * then (runc reading /proc/<pid>/cgroup of a process already gone).
   */
  exitsDuringStart?: boolean;
  /** Its containers make their sockets but never answer `GET /__cpub/ready`. */
  neverReady?: boolean;
  /** Its containers never open the agent's log socket (a process that exits before it could). */
  noLogs?: boolean;
  /** Runs as a container of this image starts, with its folders' host paths: what code inside could do to them. */
  onStart?: (mounts: { host: string; container: string }[]) => void;
}

/** One fake container, as a test may read it. */
export interface FakeContainer {
  readonly id: string;
  name: string;
  /** The spec exactly as the agent passed it to `create`. */
  readonly spec: ContainerSpec;
  status: 'created' | 'running' | 'exited';
  exitCode: number;
  oomKilled: boolean;
  shim?: FakeShim;
}

type FailingOp = 'ping' | 'buildImage' | 'create' | 'start' | 'inspect' | 'remove' | 'idMap' | 'list';

/** An error shaped as dockerode reports the engine's answer. */
export const engineError = (statusCode: number, message: string) => Object.assign(new Error(`(HTTP code ${statusCode}) ${message}`), { statusCode, json: { cause: message, message } });

const hasLabels = (actual: Record<string, string>, wanted: Record<string, string>) => Object.entries(wanted).every(([k, v]) => actual[k] === v);

export class FakeRuntime implements ContainerRuntime {
  /** Every operation in order, as `op arg` (`create cpub-…`, `start <id>`, `remove <id>`, `imageExists <ref>`). */
  readonly ops: string[] = [];
  /** Every spec passed to `create`, in order, removed containers' too: limits, env, mounts and labels as asked. */
  readonly created: ContainerSpec[] = [];
  /** What a probe (`run`) reports: the fake runs nothing. */
  probeResult: RunResult = { exitCode: 0, output: '' };
  /** What a container of an image built by `buildImage` does (the build context is read, not run). */
  builtImage: (tag: string) => FakeImage = () => ({});
  private readonly containers = new Map<string, FakeContainer>();
  private readonly images = new Map<string, FakeImage & { id: string }>();
  private readonly failures = new Map<FailingOp, Error[]>();
  private nextId = 0;

  /** Makes `ref` exist, as if built or pulled. */
  addImage(ref: string, image: FakeImage = {}): void {
    this.images.set(ref, { ...image, labels: image.labels ?? {}, id: `sha256:${(++this.nextId).toString(16).padStart(12, '0')}` });
  }

  /** The next `op` fails with `err` (once per call; queue several for several failures). */
  failNext(op: FailingOp, err: Error = engineError(500, `fake: ${op} failed`)): void {
    this.failures.set(op, [...(this.failures.get(op) ?? []), err]);
  }

  /** Ends a running container's process now, as its own exit or the kernel's OOM killer would (137 by default then). */
  exit(id: string, how: { exitCode?: number; oomKilled?: boolean } = {}): void {
    const c = this.containers.get(id);
    if (!c || c.status !== 'running') return;
    c.status = 'exited';
    c.oomKilled = how.oomKilled ?? false;
    c.exitCode = how.exitCode ?? (c.oomKilled ? 137 : 1);
    c.shim?.stop();
  }

  /** A container by id, or undefined once removed. */
  container(id: string): FakeContainer | undefined {
    return this.containers.get(id);
  }

  /** Every container not removed yet. */
  all(): FakeContainer[] {
    return [...this.containers.values()];
  }

  private op(op: string, arg: string, failing?: FailingOp): void {
    this.ops.push(`${op} ${arg}`);
    const err = failing && this.failures.get(failing)?.shift();
    if (err) throw err;
  }

  private get(id: string): FakeContainer {
    const c = this.containers.get(id);
    if (!c) throw engineError(404, 'no such container');
    return c;
  }

  async ping(): Promise<void> {
    try {
      this.op('ping', '', 'ping');
    } catch (err) {
      throw new AgentError('unavailable', 'engine_unavailable', `the fake engine does not answer: ${(err as Error).message}`);
    }
  }

  async info(): Promise<EngineInfo> {
    return { version: 'fake', ociRuntime: 'fake', cgroupVersion: '2', rootless: false };
  }

  async imageLabels(ref: string): Promise<Record<string, string> | undefined> {
    this.op('imageLabels', ref);
    return this.images.get(ref)?.labels;
  }

  async imageExists(ref: string): Promise<boolean> {
    this.op('imageExists', ref);
    return this.images.has(ref);
  }

  /** Registers `ref` as pulled when `pullable` holds it, else fails as a registry that has no such image. */
  async pullImage(ref: string): Promise<void> {
    this.op('pullImage', ref);
    const image = this.pullable.get(ref);
    if (!image) throw new AgentError('unavailable', 'pull_failed', `pulling ${ref} failed: fake: no such image in the registry`);
    this.addImage(ref, image);
  }

  /** Images a pull finds, by reference. */
  readonly pullable = new Map<string, FakeImage>();

  /** Reads the build context to its end and registers `tag` with `labels`, running what `builtImage` says. */
  async buildImage(context: NodeJS.ReadableStream, tag: string, opts: { labels: Record<string, string>; timeoutMs: number; onLog?: (line: string) => void }): Promise<string> {
    for await (const _ of context as AsyncIterable<unknown>);
    try {
      this.op('buildImage', tag, 'buildImage');
    } catch (err) {
      throw new AgentError('invalid', 'build_failed', (err as Error).message);
    }
    opts.onLog?.(`fake build of ${tag}`);
    this.addImage(tag, { ...this.builtImage(tag), labels: opts.labels });
    return this.images.get(tag)!.id;
  }

  async removeImages(labels: Record<string, string>): Promise<number> {
    this.op('removeImages', JSON.stringify(labels));
    const refs = [...this.images].filter(([, i]) => hasLabels(i.labels!, labels)).map(([ref]) => ref);
    for (const ref of refs) this.images.delete(ref);
    return refs.length;
  }

  async pruneImages(labels: Record<string, string>, keep: string): Promise<number> {
    this.op('pruneImages', keep);
    const repo = keep.slice(0, keep.lastIndexOf(':') + 1);
    const inUse = new Set([...this.containers.values()].map((c) => c.spec.image));
    const refs = [...this.images].filter(([ref, i]) => hasLabels(i.labels!, labels) && ref.startsWith(repo) && ref !== keep && !inUse.has(ref)).map(([ref]) => ref);
    for (const ref of refs) this.images.delete(ref);
    return refs.length;
  }

  async create(spec: ContainerSpec): Promise<string> {
    this.op('create', spec.name ?? '', 'create');
    if (!this.images.has(spec.image)) throw engineError(404, `no such image: ${spec.image}`);
    if (spec.name && [...this.containers.values()].some((c) => c.name === spec.name)) throw engineError(409, `the container name "${spec.name}" is already in use`);
    this.created.push(spec);
    const id = (++this.nextId).toString(16).padStart(64, '0');
    this.containers.set(id, { id, name: spec.name ?? id.slice(0, 12), spec, status: 'created', exitCode: 0, oomKilled: false });
    return id;
  }

  /** Starts the container's process: a FakeShim on the sockets its env names, in the folders its mounts give. */
  async start(id: string): Promise<void> {
    this.op('start', id, 'start');
    const c = this.get(id);
    if (c.status === 'running') return;
    const image = this.images.get(c.spec.image);
    if (!image) throw engineError(404, `no such image: ${c.spec.image}`);
    c.status = 'running';
    const mounts = c.spec.mounts ?? [];
    image.onStart?.(mounts.map((m) => ({ host: m.host, container: m.container })));
    c.shim = new FakeShim({
      containerId: id,
      env: { ...c.spec.env },
      hostPath: (p) => {
        const m = mounts.find((x) => p === x.container || p.startsWith(`${x.container}/`));
        return m && join(m.host, p.slice(m.container.length));
      },
      handler: image.handler,
      loadError: image.loadError,
      neverReady: image.neverReady,
      noLogs: image.noLogs,
      onExit: (code) => this.exit(id, { exitCode: code }),
    });
    // The engine answers once the process runs; the shim makes its sockets after that, as a real one boots.
    const running = c.shim.start().catch(() => this.exit(id, { exitCode: 70 }));
    if (image.exitsDuringStart) {
      await running;
      throw engineError(500, 'read /proc/4242/cgroup: no such process');
    }
  }

  async inspect(id: string): Promise<ContainerState> {
    this.op('inspect', id, 'inspect');
    const c = this.get(id);
    return { running: c.status === 'running', exitCode: c.exitCode, oomKilled: c.oomKilled, pid: 0 };
  }

  /**
   * Force-removes, as Podman does: a running container is killed (137) and, a moment later, gone (an inspect
   * in between sees it exited); an unknown id is not an error.
   */
  async remove(id: string): Promise<void> {
    this.op('remove', id, 'remove');
    const c = this.containers.get(id);
    if (!c) return;
    if (c.status === 'running') {
      this.exit(id, { exitCode: 137 });
      await new Promise((r) => setTimeout(r, 5));
    }
    this.containers.delete(id);
  }

  /** One range of `usernsSize` ids per container with a namespace of its own (distinct host ranges), else none. */
  async idMap(id: string): Promise<{ uid: IdRange[]; gid: IdRange[] }> {
    this.op('idMap', id, 'idMap');
    const c = this.get(id);
    if (!c.spec.usernsSize) return { uid: [], gid: [] };
    const range = { container: 0, host: 100_000 + parseInt(id, 16) * c.spec.usernsSize, size: c.spec.usernsSize };
    return { uid: [range], gid: [{ ...range }] };
  }

  async rename(id: string, name: string): Promise<void> {
    this.op('rename', `${id} ${name}`);
    this.get(id).name = name;
  }

  /** Containers carrying every one of `labels` (ANDed, as podman.ts makes them). */
  async list(labels: Record<string, string>): Promise<ContainerSummary[]> {
    this.op('list', JSON.stringify(labels), 'list');
    return [...this.containers.values()].filter((c) => hasLabels(c.spec.labels, labels)).map((c) => ({ id: c.id, labels: { ...c.spec.labels }, state: c.status }));
  }

  /** A probe: created, recorded and removed; reports `probeResult` (nothing runs). */
  async run(spec: ContainerSpec, _timeoutMs: number): Promise<RunResult> {
    const id = await this.create(spec);
    await this.remove(id);
    return { ...this.probeResult };
  }
}
