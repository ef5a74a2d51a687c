// The conformance kit (`cpub-agent conformance [image]`, and `cpub-agent doctor`): checks a runtime image against
// the runtime contract (docs/runtime-contract.md) the way the agent uses it — its conformance function (functions.ts,
// by the image's `containerpub.language` label) built on the image and called through the agent's own pools: frames,
// streamed answers and request bodies, deadlines, logs, the container's isolation. Each rule passes or fails with
// what it saw; nothing is fixed up.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as tar from 'tar';
import type { ContainerRuntime } from '../runtime/container-runtime.js';
import type { Isolation } from '../runtime/isolation.js';
import { buildFunctionImage, bundleFor, LABELS } from '../images/function-image.js';
import { FUNCTION_UID, LANGUAGE_LABEL } from '../images/runtime-image.js';
import { Pools } from '../pool/pools.js';
import { Inbound } from '../pool/stream-relay.js';
import { STREAM_WINDOW } from '../../../proto/loader.js';
import type { CallLogLine, CallRequest, CallResult, FunctionSpec, StreamSink } from '../pool/types.js';
import { CONFORMANCE_FUNCTIONS } from './functions.js';

export interface RuleResult {
  rule: string;
  ok: boolean;
  detail: string;
}

export interface KitOptions {
  runtime: ContainerRuntime;
  image: string;
  /** A folder for the build and the containers' sockets (removed after). */
  dataDir: string;
  isolation: Isolation;
  /** Told each rule's result as it is known. */
  onRule?: (r: RuleResult) => void;
}

/** The rules, in the order they run; each throws what it saw when the runtime breaks it. */
export const RULES = ['language', 'build', 'ready', 'answer', 'status', 'error', 'logs', 'env', 'deadline', 'isolation', 'streaming', 'request-stream', 'stem'] as const;

class Broken extends Error {}
const expect = (ok: unknown, what: string): void => {
  if (!ok) throw new Broken(what);
};

/** Runs every rule against `image`: the results, one per rule (a rule after a failed build or start is not run). */
export async function runConformance(o: KitOptions): Promise<RuleResult[]> {
  const results: RuleResult[] = [];
  const report = (rule: string, ok: boolean, detail: string) => {
    const r = { rule, ok, detail };
    results.push(r);
    o.onRule?.(r);
    return ok;
  };
  const labels = await o.runtime.imageLabels(o.image);
  if (!labels) {
    report('language', false, `no image ${o.image} on this host`);
    return results;
  }
  // Images we built before the label existed are Node's.
  const language = labels[LANGUAGE_LABEL] ?? (labels['containerpub.role'] === 'runtime' ? 'node' : undefined);
  const fn = language ? CONFORMANCE_FUNCTIONS[language] : undefined;
  if (!report('language', Boolean(fn), fn ? `${language} (label ${LANGUAGE_LABEL})` : `the image's ${LANGUAGE_LABEL} label is ${language ? `"${language}", a language the kit has no function for` : 'missing'} (one of: ${Object.keys(CONFORMANCE_FUNCTIONS).join(', ')})`)) return results;

  mkdirSync(o.dataDir, { recursive: true });
  // Short names: a container's sockets live below this folder, and a unix socket's path has at most 107 bytes.
  const dir = mkdtempSync(join(o.dataDir, 'k-'));
  const functionId = `cf-${randomBytes(6).toString('hex')}`;
  const live: { id: string; line: CallLogLine }[] = [];
  let pools: Pools | undefined;
  try {
    let spec: FunctionSpec;
    try {
      const art = await artifact(join(dir, 'artifact'), fn!.files);
      const built = await buildFunctionImage(o.runtime, dir, { functionId, version: 1, digest: art.digest, artifactPath: art.path, runtimeImage: o.image, timeoutMs: 120_000 });
      spec = { functionId, name: 'conformance', version: 1, image: built.image, memoryMb: 128, cpus: 0.5, timeoutMs: 10_000, concurrency: 4, maxInstances: 1, network: false, env: { CONFORMANCE_VAR: 'ok' } };
      report('build', true, `a function image built on ${o.image}`);
    } catch (err) {
      report('build', false, (err as Error).message);
      return results;
    }
    // Stems as the agent keeps them: after the first cold start, a prewarmed container of the image (the `stem` rule).
    const runtimeName = (JSON.parse(fn!.files['containerpub.json'] ?? '{}') as { runtime?: string }).runtime ?? 'node';
    pools = new Pools(o.runtime, {
      isolation: o.isolation,
      dataDir: join(dir, 'p'),
      nodeId: functionId,
      epoch: functionId,
      logCapBytes: 64 * 1024,
      idleTimeoutMs: 60_000,
      maxContainers: 4,
      streamIdleMs: 5000,
      stemsPerShape: 1,
      // Stems of this image only for its own runtime's functions (a Node image's pools also keep one of the default shape).
      ...(runtimeName === 'node' ? { runtimeImage: o.image } : {}),
      bundleFor: (image) => bundleFor(dir, image),
      onCallLine: (_s, id, line) => live.push({ id, line }),
    });
    if (runtimeName !== 'node') pools.setRuntimeImage(runtimeName, o.image);
    await pools.start();
    const call = (path: string, over: Partial<CallRequest> = {}) => pools!.invoke(spec, { invocationId: `${functionId}-${randomBytes(4).toString('hex')}`, deadlineMs: Date.now() + 10_000, method: 'GET', path, query: '', headers: [], body: Buffer.alloc(0), ...over });
    const rule = async (name: string, check: () => Promise<string>) => {
      try {
        return report(name, true, await check());
      } catch (err) {
        return report(name, false, err instanceof Broken ? err.message : `failed: ${(err as Error).message}`);
      }
    };
    const ok = (r: CallResult, what: string) => expect(r.outcome === 'ok', `${what}: the call ended ${r.outcome}${r.error ? ` (${r.error})` : ''}; its log: ${JSON.stringify(r.logs.map((l) => l.message)).slice(0, 300)}`);

    const started = await rule('ready', async () => {
      const r = await call('/status', { deadlineMs: Date.now() + 30_000 });
      ok(r, 'a first call (a cold start)');
      return `a container started and answered in ${r.timings.createMs + r.timings.startMs + r.timings.readyMs} ms (create, start, ready)`;
    });
    if (!started) return results;

    await rule('answer', async () => {
      const r = await call('/echo', { method: 'POST', query: 'q=1', headers: [['x-conformance', 'yes'], ['content-type', 'text/plain']], body: Buffer.from('hello, runtime') });
      ok(r, 'POST /echo');
      expect(r.status === 200, `POST /echo answered ${r.status}, not 200`);
      const j = JSON.parse(r.body.toString('utf8')) as { method: string; path: string; query: string; headers: Record<string, string>; body: string };
      expect(j.method === 'POST' && j.path === '/echo' && j.query === 'q=1', `the function saw ${j.method} ${j.path}?${j.query}, not POST /echo?q=1`);
      expect(j.headers['x-conformance'] === 'yes', 'the function did not see the request header x-conformance');
      expect(j.body === 'hello, runtime', `the function read the body as ${JSON.stringify(j.body)}`);
      const platform = Object.keys(j.headers).filter((k) => k.startsWith('cpub-'));
      expect(platform.length === 0, `the function saw the platform's headers: ${platform.join(', ')}`);
      return 'method, path, query, headers and body reach the function; Cpub-* headers do not';
    });

    await rule('status', async () => {
      const r = await call('/status');
      ok(r, 'GET /status');
      expect(r.status === 418, `the answer's status is ${r.status}, not the function's 418`);
      expect(r.headers.some(([k, v]) => k === 'x-teapot' && v === 'yes'), `the function's header x-teapot is missing: ${JSON.stringify(r.headers)}`);
      expect(r.body.toString('utf8') === 'short and stout', `the body is ${JSON.stringify(r.body.toString('utf8'))}`);
      return "the function's own status, headers and body come back";
    });

    await rule('error', async () => {
      const r = await call('/throw');
      expect(r.outcome === 'error', `a function that throws ended ${r.outcome}, not error (the answer must be marked: Cpub-Function-Error or "e": 1)`);
      expect(r.status === 500, `a function that throws answered ${r.status}, not 500`);
      expect(r.logs.some((l) => l.message.includes('conformance failure')), `the error is not in the call's log: ${JSON.stringify(r.logs.map((l) => l.message))}`);
      return 'a thrown error is a 500 marked as the function’s, its message in the call’s log';
    });

    await rule('logs', async () => {
      const r = await call('/log');
      ok(r, 'GET /log');
      const line = (m: string) => r.logs.find((l) => l.message.includes(m));
      expect(line('conformance stdout')?.stream === 'stdout', `stdout is not in the call's log as "stdout": ${JSON.stringify(r.logs)}`);
      expect(line('conformance stderr')?.stream === 'stderr', `stderr is not in the call's log as "stderr": ${JSON.stringify(r.logs)}`);
      expect(line('conformance ctx')?.stream === 'ctx', `the runtime's logging API is not in the call's log as "ctx": ${JSON.stringify(r.logs)}`);
      const deadline = Date.now() + 2000;
      while (Date.now() < deadline && !live.some((l) => l.line.message.includes('conformance stdout'))) await new Promise((res) => setTimeout(res, 20));
      const tailed = live.find((l) => l.line.message.includes('conformance stdout'));
      expect(tailed, 'no line came on the live log socket (CPUB_LOG_SOCKET)');
      return "stdout, stderr and ctx lines are the call's, in its log and on the live log socket";
    });

    await rule('env', async () => {
      const r = await call('/env');
      ok(r, 'GET /env');
      const j = JSON.parse(r.body.toString('utf8')) as { value: string | null; platform: string[] };
      expect(j.value === 'ok', `the function's own variable CONFORMANCE_VAR is ${JSON.stringify(j.value)}, not "ok"`);
      expect(j.platform.length === 0, `the function sees the platform's variables: ${j.platform.join(', ')}`);
      return "the function sees its env, and none of the platform's CPUB_* variables";
    });

    await rule('deadline', async () => {
      const deadlineMs = Date.now() + 5000;
      const seen = await call('/deadline', { deadlineMs });
      ok(seen, 'GET /deadline');
      const j = JSON.parse(seen.body.toString('utf8')) as { deadline: number };
      expect(j.deadline === deadlineMs, `the function sees its deadline as ${j.deadline}, not the call's ${deadlineMs}`);
      const t0 = Date.now();
      const late = await call('/sleep', { query: 'ms=5000', deadlineMs: Date.now() + 700 });
      expect(late.outcome === 'timeout', `a call past its deadline ended ${late.outcome}, not timeout`);
      expect(Date.now() - t0 < 3000, `a call past its 700 ms deadline took ${Date.now() - t0} ms to end`);
      return 'the function is told its deadline; a call past it ends as a timeout, on time';
    });

    await rule('isolation', async () => {
      const r = await call('/whoami');
      ok(r, 'GET /whoami');
      const j = JSON.parse(r.body.toString('utf8')) as { uid: number; root: boolean; tmp: boolean };
      expect(j.uid === FUNCTION_UID, `the function runs as uid ${j.uid}, not ${FUNCTION_UID}`);
      expect(!j.root, 'the function could write to its image (/app): the root file system must be read-only');
      expect(j.tmp, 'the function could not write to /tmp');
      return `uid ${FUNCTION_UID}, a read-only root, a writable /tmp`;
    });

    await rule('streaming', async () => {
      const t0 = performance.now();
      let headAt = 0;
      const chunks: { at: number; text: string }[] = [];
      const sink: StreamSink = {
        head: (_status, _headers, control, first) => {
          headAt = performance.now();
          if (first.length) chunks.push({ at: headAt, text: first.toString('utf8') });
          control.grant(first.length);
        },
        chunk: (data) => chunks.push({ at: performance.now(), text: data.toString('utf8') }),
      };
      const r = await call('/stream', { stream: sink });
      ok(r, 'GET /stream');
      const end = performance.now();
      expect(headAt > 0, 'the answer was not streamed: it came whole, after the function had finished (a streamed body must be sent as it is made)');
      expect(chunks.map((c) => c.text).join('') === 'chunk 0\nchunk 1\nchunk 2\n', `the streamed body is ${JSON.stringify(chunks.map((c) => c.text).join(''))}`);
      expect(end - chunks[0]!.at >= 300, `the first chunk came ${Math.round(chunks[0]!.at - t0)} ms in, the end ${Math.round(end - t0)} ms in: not before the function had finished`);
      return `the first chunk came ${Math.round(chunks[0]!.at - t0)} ms in, the end ${Math.round(end - t0)} ms in`;
    });

    await rule('request-stream', async () => {
      // 3 MiB: 1 MiB with the call, the rest only as the runtime gives credit (a runtime that gives none stalls).
      const body = Buffer.alloc(3 * 2 ** 20, 'conformance');
      let sent = 2 ** 20;
      const source = new Inbound((bytes) => {
        credit += bytes;
        feed();
      });
      let credit = STREAM_WINDOW;
      const feed = () => {
        while (credit > 0 && sent < body.length) {
          const n = Math.min(65536, body.length - sent, credit);
          source.push(body.subarray(sent, sent + n));
          sent += n;
          credit -= n;
        }
        if (sent >= body.length) source.end();
      };
      feed();
      const r = await call('/upload', { method: 'POST', body: body.subarray(0, 2 ** 20), bodyStream: source, deadlineMs: Date.now() + 8000 });
      expect(r.outcome === 'ok', `POST /upload of a streamed 3 MiB body ended ${r.outcome}${r.error ? ` (${r.error})` : ''}${sent < body.length ? `, after ${sent} bytes: the runtime gave no credit for more ({"w": n} frames)` : ''}`);
      const j = JSON.parse(r.body.toString('utf8')) as { bytes: number; sha: string };
      expect(j.bytes === body.length && j.sha === createHash('sha256').update(body).digest('hex'), `the function read ${j.bytes} bytes (sha256 ${j.sha.slice(0, 12)}…), not the 3 MiB sent`);
      return 'a 3 MiB body streamed in, whole and in order, paced by the runtime’s credit';
    });

    await rule('stem', async () => {
      // A container of the image started with CPUB_STEM=1 and no function, then given one by POST /__cpub/init: the
      // agent keeps these for cold starts.
      const by = Date.now() + 20_000;
      while (Date.now() < by && !pools!.stemIds().length) await new Promise((res) => setTimeout(res, 50));
      expect(pools!.stemIds().length, 'no stem became ready in 20 s (with CPUB_STEM=1 the shim starts without a function, answers /__cpub/ready, and waits for /__cpub/init)');
      const r = await pools!.invoke({ ...spec, version: 2 }, { invocationId: `${functionId}-stem`, deadlineMs: Date.now() + 10_000, method: 'GET', path: '/status', query: '', headers: [], body: Buffer.alloc(0) });
      ok(r, 'a cold start from a stem');
      expect(r.timings.coldStart && r.timings.prewarmed, 'the cold start did not use the stem that was ready');
      expect(r.status === 418, `the function loaded into the stem answered ${r.status}, not its 418`);
      return `a stem (CPUB_STEM=1) took the function by /__cpub/init and answered; the load took ${r.timings.readyMs} ms`;
    });
    return results;
  } finally {
    await pools?.stop().catch(() => {});
    await o.runtime.removeImages({ [LABELS.function]: functionId }).catch(() => 0);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Packs `files` as a function artifact (.tar.gz) at `dir`/artifact.tar.gz: its path and sha256. */
export async function artifact(dir: string, files: Record<string, string | Buffer>): Promise<{ path: string; digest: string }> {
  const src = join(dir, 'src');
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(dirname(join(src, name)), { recursive: true });
    writeFileSync(join(src, name), content);
  }
  const path = join(dir, 'artifact.tar.gz');
  await tar.c({ gzip: true, file: path, cwd: src, portable: true }, Object.keys(files));
  return { path, digest: createHash('sha256').update(readFileSync(path)).digest('hex') };
}
