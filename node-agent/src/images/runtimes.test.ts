// The runtimes a node offers, on the fake runtime: an operator's image is pulled when missing and listed with its
// language; one that cannot be pulled is left out (and said why), and a later build naming it pulls again; a
// runtime nobody configured is refused naming what the node runs; the Python one is assembled without holding the
// event loop.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeRuntime } from '../runtime/fake-runtime.js';
import { AgentError } from '../errors.js';
import { Runtimes } from './runtimes.js';
import { LANGUAGE_LABEL } from './runtime-image.js';
import { longestStall } from '../../../tests/helpers/event-loop.js';

const NODE = 'localhost/containerpub/runtime-node:test';
const noLog = () => {};

async function refusal(p: Promise<unknown>): Promise<AgentError> {
  try {
    await p;
  } catch (err) {
    assert.instance(err, AgentError);
    return err as AgentError;
  }
  throw new Error('it was not refused');
}

test('operator runtimes: pulled when missing, listed with their language; a failed pull is left out and tried again', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cpub-runtimes-'));
  try {
    const fake = new FakeRuntime();
    fake.addImage('localhost/here:1', { labels: { [LANGUAGE_LABEL]: 'node' } });
    fake.pullable.set('registry.example.com/py-ml:3', { labels: { [LANGUAGE_LABEL]: 'python' } });
    const told: string[] = [];
    const runtimes = new Runtimes({ runtime: fake, dataDir: dir, nodeImage: NODE, operator: { 'node-alt': 'localhost/here:1', 'py-ml': 'registry.example.com/py-ml:3', ruby: 'registry.example.com/ruby:3' }, onImage: (n, i) => told.push(`${n}=${i}`) });
    await runtimes.prepare();
    assert.equal(fake.ops.filter((o) => o.startsWith('pullImage')), ['pullImage registry.example.com/py-ml:3', 'pullImage registry.example.com/ruby:3'], 'only the missing ones are pulled');
    const listed = runtimes.list().filter((r) => r.name !== 'python' || r.image);
    assert.equal(listed, [
      { name: 'node', image: NODE, language: 'node' },
      { name: 'node-alt', image: 'localhost/here:1', language: 'node' },
      { name: 'py-ml', image: 'registry.example.com/py-ml:3', language: 'python' },
    ]);
    assert.ok(!runtimes.names().includes('ruby'), 'a runtime whose image is not here is not offered');
    assert.match(runtimes.problems.get('ruby') ?? '', 'no such image');
    assert.equal(told, ['node-alt=localhost/here:1', 'py-ml=registry.example.com/py-ml:3'], 'stems may be kept of each image that is here');

    assert.is(await runtimes.imageFor('py-ml', noLog), 'registry.example.com/py-ml:3');
    assert.is(await runtimes.imageFor('node', noLog), NODE);
    const lost = await refusal(runtimes.imageFor('ruby', noLog));
    assert.is(lost.code, 'runtime_unavailable');
    assert.match(lost.message, 'the runtime ruby (registry.example.com/ruby:3) is not on this node');
    // The registry has it now: the next build that names it pulls it.
    fake.pullable.set('registry.example.com/ruby:3', { labels: {} });
    assert.is(await runtimes.imageFor('ruby', noLog), 'registry.example.com/ruby:3');
    assert.ok(runtimes.names().includes('ruby'));
    assert.is(runtimes.problems.size, 0);

    const unknown = await refusal(runtimes.imageFor('go', noLog));
    assert.is(unknown.code, 'unknown_runtime');
    assert.match(unknown.message, 'containerpub.json names the runtime "go": this node runs "node"');
    assert.match(unknown.message, '"ruby"');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('concurrent builds naming one missing runtime share one pull', async () => {
  const fake = new FakeRuntime();
  fake.pullable.set('r/x:1', {});
  const runtimes = new Runtimes({ runtime: fake, dataDir: tmpdir(), nodeImage: NODE, operator: { x: 'r/x:1' } });
  const got = await Promise.all([runtimes.imageFor('x', noLog), runtimes.imageFor('x', noLog), runtimes.imageFor('x', noLog)]);
  assert.equal(got, ['r/x:1', 'r/x:1', 'r/x:1']);
  assert.is(fake.ops.filter((o) => o.startsWith('pullImage')).length, 1);
});

test("the Python runtime image is assembled from the host's Python without holding the event loop", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cpub-runtimes-'));
  try {
    const fake = new FakeRuntime();
    const runtimes = new Runtimes({ runtime: fake, dataDir: dir, nodeImage: NODE, operator: {} });
    // An agent builds it on its first Python function while it serves calls: a timer every 10 ms keeps running. (The
    // standard library copied and compiled synchronously held the loop for 4–7 s on these machines.)
    const { value: tag, longestMs } = await longestStall(() => runtimes.imageFor('python', noLog));
    assert.match(tag, /^localhost\/containerpub\/runtime-python:[0-9a-f]{12}$/);
    assert.ok(fake.ops.includes(`buildImage ${tag}`), fake.ops.join(', '));
    assert.ok(longestMs < 1000, `the event loop was held for ${Math.round(longestMs)} ms`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
