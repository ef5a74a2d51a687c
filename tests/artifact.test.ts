// The artifact rules (shared by the control plane and the agent), table-driven over hostile archives.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspectArtifact, extractArtifact, ArtifactError } from '../common/artifact.js';
import { rawTarGz } from './helpers/raw-tar.js';
import { BASIC, refused, manyFolders } from './helpers/hostile-artifacts.js';

const dir = mkdtempSync(join(tmpdir(), 'cpub-art-'));
let n = 0;
const write = (buf: Buffer) => {
  const p = join(dir, `a${n++}.tar.gz`);
  writeFileSync(p, buf);
  return p;
};
const { manifest, entry } = BASIC;

for (const [what, buf, code, offending] of refused) {
  test(`refused: ${what} → ${code}`, async () => {
    try {
      await inspectArtifact(write(buf));
      assert.unreachable('accepted');
    } catch (err) {
      assert.instance(err, ArtifactError);
      assert.is((err as ArtifactError).code, code);
      if (offending) assert.is((err as ArtifactError).entry, offending);
    }
  });
}

test('caps: compressed size, unpacked size, file count', async () => {
  const ok = rawTarGz([manifest, entry, { name: 'big.txt', content: 'x'.repeat(10_000) }]);
  const p = write(ok);
  const expectCode = async (limits: { maxCompressedBytes: number; maxUnpackedBytes: number; maxFiles: number }, code: string) => {
    try {
      await inspectArtifact(p, limits);
      assert.unreachable();
    } catch (err) {
      assert.is((err as ArtifactError).code, code);
    }
  };
  await expectCode({ maxCompressedBytes: 10, maxUnpackedBytes: 1e9, maxFiles: 100 }, 'too_large');
  await expectCode({ maxCompressedBytes: 1e9, maxUnpackedBytes: 5000, maxFiles: 100 }, 'too_large');
  await expectCode({ maxCompressedBytes: 1e9, maxUnpackedBytes: 1e9, maxFiles: 2 }, 'too_many_files');
});

test('folders count toward the entry cap; padding up to a record after the end is fine', async () => {
  try {
    await inspectArtifact(write(manyFolders(10_001)));
    assert.unreachable('accepted');
  } catch (err) {
    assert.is((err as ArtifactError).code, 'too_many_files');
  }
  // GNU tar pads an archive to its 10 KiB record: zeros after the end blocks are not refused.
  const m = await inspectArtifact(write(rawTarGz([manifest, entry], Buffer.alloc(10240 - 1024 - 1024))));
  assert.is(m.entry, 'index.mjs');
});

test('a good artifact extracts with plain modes and returns its manifest', async () => {
  const p = write(rawTarGz([manifest, { name: 'lib/', type: '5' }, { name: 'lib/util.mjs', content: 'export const x = 1' }, entry]));
  const out = mkdtempSync(join(dir, 'out-'));
  const m = await extractArtifact(p, out);
  assert.is(m.entry, 'index.mjs');
  assert.is(readFileSync(join(out, 'lib', 'util.mjs'), 'utf8'), 'export const x = 1');
  assert.is(statSync(join(out, 'index.mjs')).mode & 0o777, 0o644);
  assert.is(statSync(join(out, 'lib')).mode & 0o777, 0o755);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
