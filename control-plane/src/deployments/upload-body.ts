// An upload's bytes as they arrive: a raw `application/gzip` (or octet-stream) body, or the `archive` field of a
// multipart/form-data body (parsed as it streams, never buffered whole).
import Busboy from 'busboy';
import { PassThrough, Readable } from 'node:stream';
import type { ReadableStream } from 'node:stream/web';
import { Invalid } from '../errors.js';

export function uploadBody(contentType: string | undefined, raw: ReadableStream | null): AsyncIterable<Uint8Array> {
  const type = (contentType ?? '').toLowerCase();
  if (!raw) throw Invalid('artifact_empty', 'send the .tar.gz as the body (application/gzip) or the multipart field "archive"');
  if (type.startsWith('application/gzip') || type.startsWith('application/x-gzip') || type.startsWith('application/octet-stream')) {
    return raw as unknown as AsyncIterable<Uint8Array>;
  }
  if (!type.startsWith('multipart/form-data')) throw Invalid('unsupported_upload', 'send application/gzip or multipart/form-data with the field "archive"');
  let bb: Busboy.Busboy;
  try {
    bb = Busboy({ headers: { 'content-type': type }, limits: { files: 1, fileSize: Number.MAX_SAFE_INTEGER } });
  } catch (err) {
    throw Invalid('bad_multipart', `the multipart body cannot be read: ${(err as Error).message}`);
  }
  // Piped, not pushed: a slow or absent reader holds the upload back (backpressure) instead of buffering it.
  const out = new PassThrough();
  // The reader (the artifact store) may start only after the function is looked up: until then an error is
  // kept on the stream, for its iteration to throw, instead of crashing the process as an unheard 'error'.
  out.on('error', () => {});
  let found = false;
  bb.on('file', (name, file) => {
    if (name !== 'archive' || found) return void file.resume();
    found = true;
    file.pipe(out);
    // A reader that gave up (a refusal) destroys `out`: the rest of the file is then read and dropped.
    out.once('close', () => file.resume());
  });
  bb.on('error', (err) => out.destroy(Invalid('bad_multipart', `the multipart body cannot be read: ${(err as Error).message}`)));
  bb.on('close', () => {
    if (!found) out.destroy(Invalid('artifact_missing', 'the multipart body has no field "archive"'));
  });
  const source = Readable.fromWeb(raw);
  source.on('error', (err) => out.destroy(err));
  source.pipe(bb);
  return out;
}
