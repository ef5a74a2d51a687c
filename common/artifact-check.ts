// Runs the artifact checker (artifact.ts) in a worker thread with a deadline: an upload's checks never hold the
// event loop that answers every other request, and a check that runs too long is stopped, not waited for.
// Checker threads run at a lower CPU priority and only a few at a time, so on a small host the thread that
// serves requests still gets a core however many hostile uploads arrive together.
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { ArtifactError, type ArtifactChecker, type ArtifactErrorCode, type ArtifactLimits, type Manifest } from './artifact.js';

/** The check did not finish before its deadline (the worker was stopped, or never got a turn). */
export class CheckTimeout extends Error {
  constructor(ms: number) {
    super(`the archive check did not finish in ${ms} ms`);
    this.name = 'CheckTimeout';
  }
}

/** Messages from the worker. */
export type FromWorker =
  | { t: 'ack'; bytes: number }
  | { t: 'failed'; code: ArtifactErrorCode; detail: string; entry?: string }
  | { t: 'done'; manifest: Manifest };

/** Compressed bytes sent to the worker and not yet taken: past this, `write` waits. */
const MAX_IN_FLIGHT = 4 * 2 ** 20;

/**
 * Checks running at once in this process. Process-wide on purpose (like the root logger): it shares out the
 * host's cores, which are one per process whatever the callers are.
 */
const MAX_CHECKS = Math.max(4, 2 * availableParallelism());
let running = 0;
const queue: (() => void)[] = [];

function release(): void {
  running--;
  queue.shift()?.();
}

/** Waits for a checker slot until `deadline`; true when one was taken. */
function acquire(deadline: number): Promise<boolean> {
  if (running < MAX_CHECKS) {
    running++;
    return Promise.resolve(true);
  }
  return new Promise((resolve) => {
    const turn = () => {
      clearTimeout(timer);
      running++;
      resolve(true);
    };
    const timer = setTimeout(() => {
      queue.splice(queue.indexOf(turn), 1);
      resolve(false);
    }, deadline - Date.now());
    queue.push(turn);
  });
}

export interface WorkerChecker {
  readonly state: ArtifactChecker['state'];
  /** Sends the next compressed bytes; resolves when the worker has room for more (backpressure). */
  write(chunk: Buffer): Promise<void>;
  /** The manifest once the worker has checked everything, or the first ArtifactError (or CheckTimeout). */
  end(): Promise<Manifest>;
  /** Stops the worker (idempotent): an upload that was cut short. */
  close(): void;
}

export async function artifactCheckerInWorker(limits: ArtifactLimits, timeoutMs: number): Promise<WorkerChecker> {
  const deadline = Date.now() + timeoutMs;
  if (!(await acquire(deadline))) throw new CheckTimeout(timeoutMs);
  const worker = new Worker(new URL('./artifact-check.worker.js', import.meta.url), { workerData: { limits } });
  const state: { failed: ArtifactError | undefined } = { failed: undefined };
  let inFlight = 0;
  let wake: (() => void) | undefined;
  let finish: { resolve: (m: Manifest) => void; reject: (e: Error) => void } | undefined;
  let closed = false;
  let fatal: Error | undefined;
  const settle = (err?: Error) => {
    fatal ??= err;
    wake?.();
    if (finish && fatal) finish.reject(fatal);
  };
  worker.on('message', (m: FromWorker) => {
    if (m.t === 'ack') {
      inFlight -= m.bytes;
      if (inFlight <= MAX_IN_FLIGHT) wake?.();
    } else if (m.t === 'failed') {
      state.failed ??= new ArtifactError(m.code, m.detail, m.entry);
      wake?.();
      finish?.reject(state.failed);
    } else {
      finish?.resolve(m.manifest);
    }
  });
  worker.on('error', (err) => settle(err));
  worker.on('exit', () => settle(closed ? undefined : new Error('the archive checker stopped')));
  const timer = setTimeout(() => {
    settle(new CheckTimeout(timeoutMs));
    close();
  }, deadline - Date.now());
  timer.unref();
  function close() {
    if (closed) return;
    closed = true;
    clearTimeout(timer);
    void worker.terminate();
    release();
  }
  return {
    state,
    close,
    async write(chunk: Buffer) {
      if (state.failed || fatal) return;
      // A copy the worker owns (the request's chunk may be a view of a pooled buffer).
      const copy = new Uint8Array(chunk);
      inFlight += copy.byteLength;
      worker.postMessage({ t: 'chunk', chunk: copy }, [copy.buffer]);
      while (inFlight > MAX_IN_FLIGHT && !state.failed && !fatal) await new Promise<void>((r) => (wake = r));
    },
    end() {
      return new Promise<Manifest>((resolve, reject) => {
        if (state.failed) return reject(state.failed);
        if (fatal) return reject(fatal);
        finish = { resolve, reject };
        worker.postMessage({ t: 'end' });
      }).finally(close);
    },
  };
}
