// The contract's plumbing over real gRPC on port 0: credential interceptor, error kinds across the hop,
// deadlines, and generated types that match proto/agent.proto.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { agentServiceDefinition, createAgentClient, type AgentClient } from './loader.js';
import { toGrpcError, fromGrpcError } from './errors.js';
import { requireCredential, sendCredential, credentialMatches } from './auth.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const s = suite('proto over gRPC');
const TOKEN = 'node-credential-123';
let server: grpc.Server;
let client: AgentClient;
let anonymous: AgentClient;
let wrong: AgentClient;
let handled = 0;
/** A reply with every field set, as the agent writes one (enums by name). */
const FULL_REPLY = {
  epoch: 'epoch-1',
  outcome: 'OUTCOME_ERROR',
  status: 500,
  headers: [{ name: 'content-type', value: 'text/plain; charset=utf-8' }],
  body: Buffer.from('boom ✓'),
  logs: [{ atMs: 1_765_000_000_123, stream: 'stderr', level: 'error', message: 'Error: boom' }],
  logsTruncated: true,
  timings: { queuedMs: 1, coldStart: true, createMs: 2, startMs: 3, readyMs: 4, runMs: 5, prewarmed: true },
  resources: { cpuMs: 12, peakMemoryBytes: 2 ** 33 },
  error: 'the function threw',
  problem: { kind: 'invalid', code: 'x_code', detail: 'x detail' },
  part: 'PART_HEAD',
  credit: 65536,
};
/** A call with every field set, as the control plane writes one. */
const FULL_CALL = {
  invocationId: 'inv-1',
  functionId: 'fn-1',
  functionName: 'hello',
  version: 7,
  image: 'localhost/cpub-fn:abc',
  digest: 'd'.repeat(64),
  limits: { memoryMb: 128, cpus: 0.5, timeoutMs: 30_000, concurrency: 4, maxInstances: 10, network: true, maxResponseBytes: 100 * 2 ** 20 },
  env: [{ name: 'A', value: 'ünï' }, { name: 'B', value: '' }],
  deadlineMs: Date.now() + 30_000,
  request: { method: 'POST', path: '/p', query: 'q=1', headers: [{ name: 'content-type', value: 'text/plain' }], body: Buffer.from([0, 1, 2, 255]) },
  declineAfterMs: 50,
  traceparent: '',
  bodyFollows: true,
};
/** The InvokeRequests the server decoded (with proto-loader's deserializer, as the agent does). */
const received: Record<string, unknown>[] = [];

/** The gRPC error a call failed with; an assertion failure when it succeeded (never caught as the error). */
async function refusal(call: Promise<unknown>): Promise<grpc.ServiceError> {
  const outcome = await call.then(
    (value) => ({ value }),
    (err: grpc.ServiceError) => ({ err }),
  );
  if (!('err' in outcome)) assert.unreachable(`the call succeeded: ${JSON.stringify(outcome.value)}`);
  return (outcome as { err: grpc.ServiceError }).err;
}

const unary = <Req, Res>(c: AgentClient, method: 'info' | 'remove' | 'drain', req: Req, deadlineMs = 5000) =>
  new Promise<Res>((resolve, reject) =>
    (c[method] as unknown as (r: Req, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r?: Res) => void) => void)(
      req,
      { deadline: Date.now() + deadlineMs },
      (e, r) => (e ? reject(e) : resolve(r!)),
    ),
  );

s.before(async () => {
  server = new grpc.Server({ interceptors: [requireCredential((t) => credentialMatches(TOKEN, t))] });
  server.addService(agentServiceDefinition(), {
    info: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => {
      handled++;
      cb(null, { epoch: 'epoch-1', nodeId: 'n1', limitsEnforced: true, capacity: { memoryBytes: 2 ** 34, cpus: 2, maxContainers: 50 } });
    },
    remove: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => {
      handled++;
      cb(toGrpcError({ kind: 'not_found', code: 'function_not_found', detail: 'no such function on this node' }));
    },
    invokeStream: (call: grpc.ServerDuplexStream<Record<string, unknown>, unknown>) => {
      call.on('data', (m: Record<string, unknown>) => {
        received.push(m);
        call.write({ ...FULL_REPLY, invocationId: m.invocationId });
      });
      call.on('end', () => call.end());
    },
    calls: (call: grpc.ServerDuplexStream<{ calls: Record<string, unknown>[] }, unknown>) => {
      call.on('data', (b: { calls: Record<string, unknown>[] }) => {
        received.push(...b.calls);
        call.write({ replies: b.calls.map((m) => ({ ...FULL_REPLY, invocationId: m.invocationId })) });
      });
      call.on('end', () => call.end());
    },
    drain: (call: grpc.ServerUnaryCall<{ wait: boolean }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      handled++;
      if (call.request.wait) return void setTimeout(() => cb(null, { epoch: 'epoch-1', drained: true }), 500);
      cb(toGrpcError(new Error('secret internal path /var/lib/x')));
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  const addr = `127.0.0.1:${port}`;
  client = createAgentClient(addr, grpc.credentials.createInsecure(), { interceptors: [sendCredential(TOKEN)] });
  anonymous = createAgentClient(addr, grpc.credentials.createInsecure());
  wrong = createAgentClient(addr, grpc.credentials.createInsecure(), { interceptors: [sendCredential('guess')] });
});

s.after(() => {
  for (const c of [client, anonymous, wrong]) c?.close();
  server?.forceShutdown();
});

s('an authenticated call reaches the handler; typed fields come back camelCased with defaults', async () => {
  const r = await unary<object, { epoch: string; limitsEnforced: boolean; capacity: { cpus: number; memoryBytes: number }; rootless: boolean }>(client, 'info', {});
  assert.is(r.epoch, 'epoch-1');
  assert.is(r.limitsEnforced, true);
  assert.is(r.capacity.cpus, 2);
  assert.is(r.capacity.memoryBytes, 2 ** 34, 'uint64 decoded as a number');
  assert.is(r.rootless, false, 'defaults filled in');
});

s('calls without the credential, or with a wrong one, are refused and run nothing', async () => {
  const before = handled;
  for (const c of [anonymous, wrong]) {
    const err = await refusal(unary(c, 'info', {}));
    assert.is(err.code, grpc.status.UNAUTHENTICATED);
    assert.equal(fromGrpcError(err), { kind: 'unauthenticated', code: 'bad_node_credential', detail: 'missing or invalid node credential' });
  }
  assert.is(handled, before, 'no handler ran');
});

s('error kinds and codes survive the hop; unknown errors do not leak their message', async () => {
  const missing = await refusal(unary(client, 'remove', { functionId: 'f' }));
  assert.is(missing.code, grpc.status.NOT_FOUND);
  assert.equal(fromGrpcError(missing), { kind: 'not_found', code: 'function_not_found', detail: 'no such function on this node' });
  // An error the handler did not type: INTERNAL, and its message (a path here) stays on the agent.
  const crashed = await refusal(unary(client, 'drain', { wait: false }));
  assert.is(crashed.code, grpc.status.INTERNAL);
  const e = fromGrpcError(crashed);
  assert.is(e.kind, 'internal');
  assert.not.match(e.detail, '/var/lib');
});

s('a deadline that passes is deadline_exceeded', async () => {
  const late = await refusal(unary(client, 'drain', { wait: true }, 100));
  assert.is(late.code, grpc.status.DEADLINE_EXCEEDED);
  assert.is(fromGrpcError(late).kind, 'deadline_exceeded');
});

s('errors from outside our handlers get a kind from their status', () => {
  const e = Object.assign(new Error('x'), { code: grpc.status.UNAVAILABLE, details: 'connect refused', metadata: new grpc.Metadata() });
  assert.equal(fromGrpcError(e), { kind: 'unavailable', code: 'grpc_unavailable', detail: 'connect refused' });
});

s('InvokeStream writes calls and replies with encode alone (no fromObject): each side decodes every field as given', async () => {
  const stream = client.InvokeStream();
  const closed = new Promise((resolve) => stream.once('status', resolve));
  stream.on('error', () => {}); // the status says how it ended
  const replied = new Promise((resolve) => stream.once('data', resolve));
  stream.write(FULL_CALL);
  stream.write({ invocationId: 'inv-1', bodyChunk: Buffer.from('more'), bodyEnd: true, credit: 3, cancel: true, bodyError: 'x' });
  const reply = (await replied) as Record<string, unknown>;
  assert.equal({ ...reply, body: String(reply.body) }, { ...FULL_REPLY, invocationId: 'inv-1', body: 'boom ✓' }, 'the reply, encoded without fromObject, decodes whole');
  await new Promise((r) => setTimeout(r, 50));
  stream.end();
  await closed;
  assertReceivedWhole(received.splice(0));
});

/** The call and the chunk message the server decoded are what the client wrote, every field. */
function assertReceivedWhole(got: Record<string, unknown>[]): void {
  assert.is(got.length, 2);
  const first = got[0] as typeof FULL_CALL & { request: { body: Buffer } };
  assert.equal({ ...first, request: { ...first.request, body: [...first.request.body] } }, { ...FULL_CALL, request: { ...FULL_CALL.request, body: [0, 1, 2, 255] }, bodyChunk: Buffer.alloc(0), bodyEnd: false, credit: 0, cancel: false, bodyError: '' });
  const chunk = got[1] as { bodyChunk: Buffer; bodyEnd: boolean; credit: number; cancel: boolean; bodyError: string; invocationId: string };
  assert.equal([chunk.invocationId, chunk.bodyChunk.toString(), chunk.bodyEnd, chunk.credit, chunk.cancel, chunk.bodyError], ['inv-1', 'more', true, 3, true, 'x']);
}

s('Calls writes batches of calls and of replies the same way: each side decodes every field of every message', async () => {
  const stream = client.Calls();
  const closed = new Promise((resolve) => stream.once('status', resolve));
  stream.on('error', () => {});
  const replied = new Promise((resolve) => stream.once('data', resolve));
  stream.write({ calls: [FULL_CALL, { invocationId: 'inv-1', bodyChunk: Buffer.from('more'), bodyEnd: true, credit: 3, cancel: true, bodyError: 'x' }] });
  const { replies } = (await replied) as { replies: Record<string, unknown>[] };
  assert.equal(
    replies.map((r) => ({ ...r, body: String(r.body) })),
    [1, 2].map(() => ({ ...FULL_REPLY, invocationId: 'inv-1', body: 'boom ✓' })),
    'both replies, in one message, decode whole',
  );
  stream.end();
  await closed;
  assertReceivedWhole(received.splice(0));
});

s('proto/generated matches proto/agent.proto (run `npm run proto` after changing it)', () => {
  const out = mkdtempSync(join(tmpdir(), 'cpub-proto-'));
  try {
    const r = spawnSync(process.execPath, [join(repoRoot, 'scripts', 'proto-gen.mjs'), '--out', out], { encoding: 'utf8' });
    assert.is(r.status, 0, r.stderr);
    const files = (dir: string): string[] =>
      readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? files(join(dir, f)) : [join(dir, f)]));
    const committed = join(repoRoot, 'proto', 'generated');
    const want = files(out).map((f) => relative(out, f)).sort();
    assert.equal(files(committed).map((f) => relative(committed, f)).sort(), want);
    for (const f of want) assert.is(readFileSync(join(committed, f), 'utf8'), readFileSync(join(out, f), 'utf8'), f);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

s.run();
