// Key files in a data folder (the server's key.txt and jwt-secret, the agent's node credential and id): created
// once with O_EXCL (two processes starting at once agree on one value), mode 0600.
import { mkdirSync, openSync, writeSync, fsyncSync, closeSync, readFileSync, chmodSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Returns the content of `<dir>/<name>`, creating it first with `generate()` when it does not exist.
 * Creation uses O_EXCL so two processes starting at once agree on one value.
 */
export function readOrCreateKeyFile(dir: string, name: string, generate: () => string): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, name);
  try {
    const fd = openSync(path, 'wx', 0o600);
    try {
      writeSync(fd, generate() + '\n');
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
  const value = readFileSync(path, 'utf8').trim();
  if (!value) throw new Error(`${path} is empty; remove it to have a new one generated`);
  return value;
}
