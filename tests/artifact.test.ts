// The artifact rules (shared by the control plane and the agent), table-driven over hostile archives.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspectArtifact, extractArtifact, ArtifactError } from '../common/artifact.js';
import { rawTarGz, type RawEntry } from './helpers/raw-tar.js';

const dir = mkdtempSync(join(tmpdir(), 'cpub-art-'));
let n = 0;
const write = (buf: Buffer) => {
  const p = join(dir, `a${n++}.tar.gz`);
  writeFileSync(p, buf);
  return p;
};
const manifest: RawEntry = { name: 'containerpub.json', content: '{"entry":"index.mjs"}' };
const entry: RawEntry = { name: 'index.mjs', content: 'export default () => 1' };

const refused: [string, Buffer, string, string?][] = [
  ['absolute path', rawTarGz([manifest, entry, { name: '/etc/passwd', content: 'x' }]), 'bad_entry', '/etc/passwd'],
  ['.. in a path', rawTarGz([manifest, entry, { name: 'a/../../x', content: 'x' }]), 'bad_entry', 'a/../../x'],
  ['symlink', rawTarGz([manifest, entry, { name: 'link', type: '2', linkname: '/etc/shadow' }]), 'bad_entry', 'link'],
  ['hardlink', rawTarGz([manifest, entry, { name: 'hard', type: '1', linkname: 'index.mjs' }]), 'bad_entry', 'hard'],
  ['device', rawTarGz([manifest, entry, { name: 'dev', type: '3' }]), 'bad_entry', 'dev'],
  ['FIFO', rawTarGz([manifest, entry, { name: 'pipe', type: '6' }]), 'bad_entry', 'pipe'],
  ['control character in a name', rawTarGz([manifest, entry, { name: 'bad\u0007name', content: 'x' }]), 'bad_entry'],
  ['no manifest', rawTarGz([entry]), 'no_manifest'],
  ['manifest not JSON', rawTarGz([{ name: 'containerpub.json', content: '{nope' }, entry]), 'bad_manifest', 'containerpub.json'],
  ['entry missing', rawTarGz([manifest]), 'no_entry', 'index.mjs'],
  ['not gzip', Buffer.from('just some text, not an archive'), 'bad_archive'],
  ['truncated gzip', rawTarGz([manifest, entry]).subarray(0, 40), 'bad_archive'],
];

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
