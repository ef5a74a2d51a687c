// Archives every artifact check must refuse, with the code and the offending entry each must name: shared by
// the checker's unit tests and the upload tests through the API.
import { rawTarGz, type RawEntry } from './raw-tar.js';

export const BASIC: { manifest: RawEntry; entry: RawEntry } = {
  manifest: { name: 'containerpub.json', content: '{"entry":"index.mjs"}' },
  entry: { name: 'index.mjs', content: 'export default () => 1' },
};
const { manifest, entry } = BASIC;

export const refused: [string, Buffer, string, string?][] = [
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


/** Names past the bounds (path, one name, depth), a NUL hidden in a name, a manifest that is not an object. */
const deep = Array.from({ length: 33 }, (_, i) => `d${i}`).join('/') + '/f.js';
const longPath = `${'a'.repeat(200)}/`.repeat(6) + 'f.js';
refused.push(
  ['data after the end of the archive', rawTarGz([manifest, entry], Buffer.from('not padding, something else')), 'bad_archive'],
  ['1 MiB of zeros after the end of the archive', rawTarGz([manifest, entry], Buffer.alloc(2 ** 20)), 'bad_archive'],
  ['nested 33 folders deep', rawTarGz([manifest, entry, { name: '././@LongLink', type: 'L', content: `${deep}\0` }, { name: 'deep', content: 'x' }]), 'bad_entry'],
  ['a path over 1024 bytes', rawTarGz([manifest, entry, { name: '././@LongLink', type: 'L', content: `${longPath}\0` }, { name: 'long', content: 'x' }]), 'bad_entry'],
  ['a name over 255 bytes', rawTarGz([manifest, entry, { name: '././@LongLink', type: 'L', content: `${'n'.repeat(300)}\0` }, { name: 'long', content: 'x' }]), 'bad_entry'],
  ['a NUL inside a name', rawTarGz([manifest, entry, { name: 'ok.js\0hidden', content: 'x' }]), 'bad_entry', 'ok.js'],
  ['a NUL inside a long name', rawTarGz([manifest, entry, { name: '././@LongLink', type: 'L', content: 'ok.js\0hidden\0' }, { name: 'x', content: 'x' }]), 'bad_entry'],
  ['a pax header that sets a size', rawTarGz([manifest, entry, { name: 'PaxHeader/x', type: 'x', content: '12 size=100\n' }, { name: 'x', content: 'x' }]), 'bad_archive'],
  ['manifest is null', rawTarGz([{ name: 'containerpub.json', content: 'null' }, entry]), 'bad_manifest', 'containerpub.json'],
  ['manifest is a list', rawTarGz([{ name: 'containerpub.json', content: '[1,2]' }, entry]), 'bad_manifest', 'containerpub.json'],
  ['a runtime name that is not a name', rawTarGz([{ name: 'containerpub.json', content: JSON.stringify({ entry: entry.name, runtime: '../python' }) }, entry]), 'bad_manifest', 'containerpub.json'],
  ['a runtime that is not a string', rawTarGz([{ name: 'containerpub.json', content: JSON.stringify({ entry: entry.name, runtime: ['node'] }) }, entry]), 'bad_manifest', 'containerpub.json'],
);

/** More entries than the cap, every one a folder (folders count too). */
export const manyFolders = (n: number) => rawTarGz([manifest, entry, ...Array.from({ length: n }, (_, i) => ({ name: `d${i}/`, type: '5' }))]);
