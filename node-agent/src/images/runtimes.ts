// The runtimes a node builds functions on, by the name `containerpub.json` gives (`"runtime"`): "node", the
// agent's own image; "python", assembled from this host's Python 3 on first use; and the operator's
// (`cpub-agent start --runtime name=image`), pulled when not here — "python=image" replaces the assembled one.
// What `list()` names is what the node tells the control plane (Info), and placement sends a function only to
// nodes that name its runtime.
import type { ContainerRuntime } from '../runtime/container-runtime.js';
import { AgentError } from '../errors.js';
import { LANGUAGE_LABEL } from './runtime-image.js';
import { ensurePythonImage, hostPython, pythonImageTag } from './python-image.js';

export interface RuntimeRef {
  name: string;
  /** Empty for the assembled Python runtime until it is first built. */
  image: string;
  /** The image's `containerpub.language` label ('' when it has none). */
  language: string;
}

export interface RuntimesDeps {
  runtime: ContainerRuntime;
  dataDir: string;
  /** The agent's own runtime image (the runtime "node"). */
  nodeImage: string;
  /** The operator's runtime images by name. */
  operator: Readonly<Record<string, string>>;
  /** Told each runtime's image once it is here: its functions' cold starts keep stems of it from then on. */
  onImage?: (name: string, image: string) => void;
  /** How long one pull may take. */
  pullTimeoutMs?: number;
}

const PULL_TIMEOUT_MS = 10 * 60_000;

export class Runtimes {
  /** The operator's runtimes whose image is here, with its language. */
  private readonly present = new Map<string, RuntimeRef>();
  /** Why an operator's runtime is not here (its pull failed). */
  readonly problems = new Map<string, string>();
  private readonly pending = new Map<string, Promise<string>>();
  /** The host's Python 3, looked up once (undefined: none). */
  private readonly python = hostPython();

  /** The current tag of the Python runtime assembled from the host's (hashed once: ≈ 40 ms, its binary); null: not yet. */
  private pythonTag: string | undefined | null = null;

  constructor(private readonly d: RuntimesDeps) {}

  /** The tag the Python runtime assembled from the host's Python 3 has now; undefined when the host has none. */
  assembledPythonTag(): string | undefined {
    if (this.pythonTag === null) this.pythonTag = this.python ? pythonImageTag(this.python) : undefined;
    return this.pythonTag;
  }

  /**
   * Makes every operator runtime's image present (pulled when missing), one at a time; one that cannot be had is
   * left out of `list()` with its reason in `problems` (a later build that names it tries the pull again).
   */
  async prepare(onLog?: (name: string, line: string) => void): Promise<void> {
    for (const name of Object.keys(this.d.operator)) await this.operatorImage(name, (line) => onLog?.(name, line)).catch(() => {});
    const tag = this.d.operator.python === undefined ? this.assembledPythonTag() : undefined;
    if (tag && (await this.d.runtime.imageExists(tag).catch(() => false))) this.d.onImage?.('python', tag);
  }

  /** What this node can run, for Info: node, python (the operator's, or where the host has Python 3), and the operator's that are here. */
  list(): RuntimeRef[] {
    const out: RuntimeRef[] = [{ name: 'node', image: this.d.nodeImage, language: 'node' }];
    if (this.d.operator.python === undefined && this.python) out.push({ name: 'python', image: this.assembledPython ?? '', language: 'python' });
    for (const name of Object.keys(this.d.operator)) {
      const r = this.present.get(name);
      if (r) out.push(r);
    }
    return out;
  }

  /** The names `list()` gives, for messages. */
  names(): string[] {
    return this.list().map((r) => r.name);
  }

  /** The image to build a function of runtime `name` FROM: an AgentError `unknown_runtime` when this node has none by that name. */
  imageFor(name: string, log: (line: string) => void): Promise<string> {
    if (name === 'node') return Promise.resolve(this.d.nodeImage);
    if (this.d.operator[name] !== undefined) return this.operatorImage(name, log);
    if (name === 'python') {
      if (!this.python) return Promise.reject(new AgentError('invalid', 'unknown_runtime', 'the runtime "python" needs Python 3 on this node (/usr/bin/python3 with its standard library; apt-get install python3)'));
      return this.once('python', () => this.buildPython(log));
    }
    return Promise.reject(new AgentError('invalid', 'unknown_runtime', `containerpub.json names the runtime "${name}": this node runs ${this.names().map((n) => `"${n}"`).join(', ')}`));
  }

  private assembledPython: string | undefined;

  private async buildPython(log: (line: string) => void): Promise<string> {
    try {
      const { tag } = await ensurePythonImage(this.d.runtime, this.d.dataDir, log, { py: this.python!, tag: this.assembledPythonTag()! });
      this.assembledPython = tag;
      this.d.onImage?.('python', tag);
      return tag;
    } catch (err) {
      throw err instanceof AgentError ? err : new AgentError('unavailable', 'runtime_unavailable', `the Python runtime image cannot be built on this node: ${(err as Error).message}`);
    }
  }

  private operatorImage(name: string, log: (line: string) => void): Promise<string> {
    const have = this.present.get(name);
    if (have) return Promise.resolve(have.image);
    return this.once(name, async () => {
      const image = this.d.operator[name]!;
      try {
        if (!(await this.d.runtime.imageExists(image))) {
          log(`pulling ${image} (runtime ${name})`);
          await this.d.runtime.pullImage(image, { timeoutMs: this.d.pullTimeoutMs ?? PULL_TIMEOUT_MS, onLog: log });
        }
        const labels = (await this.d.runtime.imageLabels(image)) ?? {};
        this.present.set(name, { name, image, language: labels[LANGUAGE_LABEL] ?? '' });
        this.problems.delete(name);
        this.d.onImage?.(name, image);
        return image;
      } catch (err) {
        const why = (err as Error).message;
        this.problems.set(name, why);
        throw new AgentError('unavailable', 'runtime_unavailable', `the runtime ${name} (${image}) is not on this node: ${why}`);
      }
    });
  }

  /** One flight per runtime: concurrent builds naming it wait for the same pull or build; a failure is not kept. */
  private once(name: string, work: () => Promise<string>): Promise<string> {
    let p = this.pending.get(name);
    if (!p) {
      p = work().finally(() => this.pending.delete(name));
      this.pending.set(name, p);
    }
    return p;
  }
}
