// Our interface to the container engine, in our own types. podman.ts is its only implementation over
// dockerode; unit tests use FakeRuntime (fake-runtime.ts). Everything we create carries labels, so listing and cleanup go by label.

export interface Mount {
  host: string;
  container: string;
  readOnly: boolean;
}

export interface ContainerSpec {
  name?: string;
  image: string;
  labels: Record<string, string>;
  cmd?: string[];
  entrypoint?: string[];
  env?: Record<string, string>;
  memoryBytes?: number;
  /** CPU quota in CPUs (0.5 = half a core). */
  cpus?: number;
  pidsLimit?: number;
  /** Egress network; false is `--network none`. */
  network: boolean;
  readOnlyRoot: boolean;
  tmpfsBytes?: number;
  user?: string;
  mounts?: Mount[];
  /** nofile and nproc must be explicit on these hosts or the OCI runtime's setrlimit fails. */
  ulimits: { nofile: number; nproc: number };
  /** Keep the engine's own log of the output (probes read it); function containers stream it via attach. */
  keepLogs?: boolean;
  /** Absolute path of a seccomp profile (unset: the engine's default). */
  seccompProfile?: string;
  /** A user namespace of this many ids of its own, allocated by the engine (`--userns=auto:size=N`); unset: none. */
  usernsSize?: number;
}

/** One line of a user namespace's id map: `size` ids from `container` inside are `host` outside. */
export interface IdRange {
  container: number;
  host: number;
  size: number;
}

export interface ContainerSummary {
  id: string;
  labels: Record<string, string>;
  state: string;
}

export interface EngineInfo {
  version: string;
  ociRuntime: string;
  cgroupVersion: string;
  rootless: boolean;
  /** Where the engine keeps images and containers (its graph root), when it says. */
  storageDir?: string | undefined;
}

export interface ContainerState {
  running: boolean;
  exitCode: number;
  oomKilled: boolean;
  pid: number;
}

export interface RunResult {
  exitCode: number;
  output: string;
}

export interface ContainerRuntime {
  /** Resolves when the engine answers; throws AppError `engine_unavailable` otherwise. */
  ping(): Promise<void>;
  info(): Promise<EngineInfo>;
  imageExists(ref: string): Promise<boolean>;
  /** The labels of an image; undefined when there is no such image. */
  imageLabels(ref: string): Promise<Record<string, string> | undefined>;
  /** Pulls an image from its registry; streams progress lines; rejects with AppError `pull_failed` or `pull_timeout`. */
  pullImage(ref: string, opts: { timeoutMs: number; onLog?: (line: string) => void }): Promise<void>;
  /**
   * Builds from a tar build context into one image (its steps committed once, no intermediate images); streams log
   * lines; rejects with AppError `build_failed` or `build_timeout`.
   */
  buildImage(context: NodeJS.ReadableStream, tag: string, opts: { labels: Record<string, string>; timeoutMs: number; onLog?: (line: string) => void }): Promise<string>;
  /** Removes every image carrying all of `labels`; returns how many. */
  removeImages(labels: Record<string, string>): Promise<number>;
  /** Removes images with these labels other than `keep`, where nothing uses them (no force). Returns how many. */
  pruneImages(labels: Record<string, string>, keep: string): Promise<number>;
  create(spec: ContainerSpec): Promise<string>;
  start(id: string): Promise<void>;
  inspect(id: string): Promise<ContainerState>;
  remove(id: string): Promise<void>;
  /** A created container's user namespace maps (empty: no namespace of its own). */
  idMap(id: string): Promise<{ uid: IdRange[]; gid: IdRange[] }>;
  /** Renames a container (labels cannot change after creation; names can). */
  rename(id: string, name: string): Promise<void>;
  list(labels: Record<string, string>): Promise<ContainerSummary[]>;
  /** Creates, starts, waits for and removes a container; for probes, never on a hot path. */
  run(spec: ContainerSpec, timeoutMs: number): Promise<RunResult>;
}

/** The engine's own words for a failed request (dockerode keeps them in `json`), else the error's message. */
export function engineMessage(err: unknown): string {
  const e = err as { json?: { message?: string; cause?: string } | null; message?: string };
  return e.json?.message ?? e.json?.cause ?? e.message ?? String(err);
}
