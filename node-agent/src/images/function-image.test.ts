// Building a function image on the fake runtime: a build that another process's write or removal in the shared image
// store broke (Podman 4.3: "layer not known", or the image gone) is run again, up to twice; any other failure is not.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeRuntime, engineError } from '../runtime/fake-runtime.js';
import { artifact } from '../conformance/kit.js';
import { buildFunctionImage, bundleFor } from './function-image.js';

const RUNTIME = 'localhost/containerpub/runtime-node:test';

async function build(fake: FakeRuntime, logs: string[] = []) {
  const dir = mkdtempSync(join(tmpdir(), 'cpub-fnimg-'));
  try {
    const art = await artifact(join(dir, 'a'), { 'containerpub.json': JSON.stringify({ entry: 'index.mjs' }), 'index.mjs': 'export default () => new Response("ok");\n' });
    const built = await buildFunctionImage(fake, join(dir, 'data'), { functionId: 'f1', version: 1, digest: art.digest, artifactPath: art.path, runtimeImage: RUNTIME, timeoutMs: 10_000 }, (l) => logs.push(l));
    // Its bundle is kept for stems, with its size: two small files, copied at once when a stem claims it.
    assert.equal(bundleFor(join(dir, 'data'), built.image), { appDir: join(dir, 'data', 'bundles', 'f1', art.digest.slice(0, 24), 'app'), entry: 'index.mjs', runtime: 'node', small: true });
    return built;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const builds = (fake: FakeRuntime) => fake.ops.filter((o) => o.startsWith('buildImage')).length;

test('a build the image store broke under is run again, and says so', async () => {
  const fake = new FakeRuntime();
  fake.addImage(RUNTIME);
  fake.failNext('buildImage', engineError(500, 'getting top layer info: layer not known'));
  fake.failNext('buildImage', engineError(500, 'reading image "sha256:0123": image not known'));
  const logs: string[] = [];
  const r = await build(fake, logs);
  assert.ok(r.image.startsWith('localhost/containerpub/fn-f1:'), r.image);
  assert.is(builds(fake), 3);
  assert.ok(logs.some((l) => l.includes('the image store changed under the build (') && l.includes('getting top layer info: layer not known')), JSON.stringify(logs));
});

test('at most three tries; a build that fails for any other reason is not tried again', async () => {
  const racing = new FakeRuntime();
  racing.addImage(RUNTIME);
  for (let i = 0; i < 3; i++) racing.failNext('buildImage', engineError(500, 'layer not known'));
  await build(racing).then(() => assert.unreachable('built'), (err: Error) => assert.match(err.message, 'layer not known'));
  assert.is(builds(racing), 3);
  const broken = new FakeRuntime();
  broken.addImage(RUNTIME);
  broken.failNext('buildImage', engineError(500, 'COPY failed: no space left on device'));
  await build(broken).then(() => assert.unreachable('built'), (err: Error) => assert.match(err.message, 'no space left'));
  assert.is(builds(broken), 1);
});

test('a bundle of more than 64 files is kept as not small: a stem copies it asynchronously', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cpub-fnimg-'));
  try {
    const files: Record<string, string | Buffer> = { 'containerpub.json': JSON.stringify({ entry: 'index.mjs' }), 'index.mjs': 'export default () => new Response("ok");\n' };
    for (let i = 0; i < 100; i++) files[`lib/f${i}.txt`] = 'x';
    const art = await artifact(join(dir, 'a'), files);
    const fake = new FakeRuntime();
    fake.addImage(RUNTIME);
    const built = await buildFunctionImage(fake, join(dir, 'data'), { functionId: 'f2', version: 1, digest: art.digest, artifactPath: art.path, runtimeImage: RUNTIME, timeoutMs: 30_000 });
    assert.is(bundleFor(join(dir, 'data'), built.image)?.small, false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
