// The fake engine keeps the promises of ContainerRuntime that the agent relies on: labels ANDed, a missing
// image or container refused as the engine refuses it, failures on demand, and a started container's shim
// on the sockets its env and mounts name.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ContainerSpec } from './container-runtime.js';
import { FakeRuntime } from './fake-runtime.js';

const s = suite('fake runtime');
let dir: string;
let fake: FakeRuntime;

const spec = (over: Partial<ContainerSpec> = {}): ContainerSpec => ({ image: 'img', labels: {}, network: false, readOnlyRoot: true, ulimits: { nofile: 1, nproc: 1 }, ...over });

s.before.each(() => {
  dir = mkdtempSync(join(tmpdir(), 'cpub-fake-'));
  fake = new FakeRuntime();
  fake.addImage('img', { labels: { role: 'fn', fn: 'a' }, handler: () => 'hi' });
});

s.after.each(async () => {
  for (const c of fake.all()) await fake.remove(c.id);
  rmSync(dir, { recursive: true, force: true });
});

s('list and removeImages go by every label given (ANDed)', async () => {
  const a = await fake.create(spec({ labels: { node: 'n1', epoch: 'e1' } }));
  await fake.create(spec({ labels: { node: 'n1', epoch: 'e2' } }));
  await fake.create(spec({ labels: { node: 'n2', epoch: 'e1' } }));
  assert.equal((await fake.list({ node: 'n1', epoch: 'e1' })).map((c) => c.id), [a]);
  assert.is((await fake.list({ node: 'n1' })).length, 2);
  fake.addImage('img2', { labels: { role: 'fn', fn: 'b' } });
  assert.is(await fake.removeImages({ role: 'fn', fn: 'b' }), 1);
  assert.ok(await fake.imageExists('img'));
  assert.not.ok(await fake.imageExists('img2'));
});

s('a missing image, a taken name or an unknown container is refused as the engine refuses it', async () => {
  const status = (p: Promise<unknown>) => p.then(() => 0, (e: { statusCode?: number }) => e.statusCode);
  assert.is(await status(fake.create(spec({ image: 'nope' }))), 404);
  await fake.create(spec({ name: 'taken' }));
  assert.is(await status(fake.create(spec({ name: 'taken' }))), 409);
  assert.is(await status(fake.inspect('unknown')), 404);
  await fake.remove('unknown'); // force-remove of what is gone is not an error
});

s('failNext fails the next call of that operation only', async () => {
  fake.failNext('create');
  await fake.create(spec()).then(() => assert.unreachable('created'), (e: Error) => assert.match(e.message, 'fake: create failed'));
  assert.ok(await fake.create(spec()));
  fake.failNext('ping');
  await fake.ping().then(() => assert.unreachable('answered'), (e: { code: string }) => assert.is(e.code, 'engine_unavailable'));
});

s('a started container’s shim answers on the host path of its mount; exit and remove end it', async () => {
  const id = await fake.create(spec({ env: { CPUB_SOCKET: '/run/cpub/fn.sock' }, mounts: [{ host: dir, container: '/run/cpub', readOnly: false }] }));
  await fake.start(id);
  for (let t = 0; !existsSync(join(dir, 'fn.sock')) && t < 200; t++) await new Promise((r) => setTimeout(r, 5));
  const ready = await new Promise<number>((resolve, reject) => request({ socketPath: join(dir, 'fn.sock'), path: '/__cpub/ready' }, (res) => resolve(res.statusCode ?? 0)).on('error', reject).end());
  assert.is(ready, 204);
  assert.equal(await fake.inspect(id), { running: true, exitCode: 0, oomKilled: false, pid: 0 });
  fake.exit(id, { oomKilled: true });
  assert.equal(await fake.inspect(id), { running: false, exitCode: 137, oomKilled: true, pid: 0 });
  await fake.remove(id);
  assert.is(fake.container(id), undefined);
  assert.equal(fake.ops.filter((o) => !o.startsWith('inspect')), [`create `, `start ${id}`, `remove ${id}`]);
});

s.run();
