// Builds tar archives byte by byte, so tests can make the hostile ones no archiver would: absolute paths,
// `..`, links, devices, control characters in names.
import { gzipSync } from 'node:zlib';

export interface RawEntry {
  name: string;
  /** '0' file, '1' hardlink, '2' symlink, '3' char device, '5' directory, '6' FIFO, 'L' GNU long name, 'x' pax header. */
  type?: string;
  content?: string;
  linkname?: string;
}

function header(e: RawEntry, size: number): Buffer {
  const h = Buffer.alloc(512, 0);
  const put = (s: string, off: number, len: number) => h.write(s, off, Math.min(len, Buffer.byteLength(s)), 'utf8');
  const oct = (n: number, len: number) => n.toString(8).padStart(len - 1, '0') + '\0';
  put(e.name, 0, 100);
  put(oct(e.type === '5' ? 0o755 : 0o644, 8), 100, 8);
  put(oct(0, 8), 108, 8);
  put(oct(0, 8), 116, 8);
  put(oct(size, 12), 124, 12);
  put(oct(1_700_000_000, 12), 136, 12);
  h.fill(' ', 148, 156);
  put(e.type ?? '0', 156, 1);
  put(e.linkname ?? '', 157, 100);
  put('ustar\0', 257, 6);
  put('00', 263, 2);
  let sum = 0;
  for (const b of h) sum += b;
  put(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8);
  return h;
}

/** The archive, with `after` (bytes past its end-of-archive blocks) appended before compression. */
export function rawTarGz(entries: RawEntry[], after?: Buffer): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const body = Buffer.from(e.type === undefined || e.type === '0' || e.type === 'L' || e.type === 'x' ? (e.content ?? '') : '');
    parts.push(header(e, body.length), body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  if (after) parts.push(after);
  return gzipSync(Buffer.concat(parts));
}
