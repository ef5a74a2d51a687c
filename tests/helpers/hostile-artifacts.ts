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

