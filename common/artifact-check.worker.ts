// The worker thread behind artifact-check.ts: feeds the chunks it is sent to one artifact checker and reports
// the first refusal at once, the manifest at the end. It lowers its own thread's CPU priority first.
import { parentPort, workerData } from 'node:worker_threads';
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { artifactChecker, ArtifactError, type ArtifactLimits } from './artifact.js';
import type { FromWorker } from './artifact-check.js';

try {
  // On Linux a thread id is a valid target for setpriority(2): this thread only, not the process.
  setPriority(Number(readlinkSync('/proc/thread-self').split('/').pop()), 10);
} catch {
  // not Linux, or not allowed: the check still runs, at normal priority
}

const port = parentPort!;
const checker = artifactChecker((workerData as { limits: ArtifactLimits }).limits);
const send = (m: FromWorker) => port.postMessage(m);
let reported = false;
const report = (err: ArtifactError) => {
  if (reported) return;
  reported = true;
  send({ t: 'failed', code: err.code, detail: err.detail, entry: err.entry });
};

port.on('message', (m: { t: 'chunk'; chunk: Uint8Array } | { t: 'end' }) => {
  if (m.t === 'chunk') {
    const bytes = m.chunk.byteLength;
    if (!checker.state.failed) checker.write(Buffer.from(m.chunk.buffer, m.chunk.byteOffset, bytes));
    if (checker.state.failed) report(checker.state.failed);
    return send({ t: 'ack', bytes });
  }
  checker.end().then(
    (manifest) => send({ t: 'done', manifest }),
    (err: unknown) => report(err instanceof ArtifactError ? err : new ArtifactError('bad_archive', `not a well-formed .tar.gz: ${(err as Error).message}`)),
  );
});
