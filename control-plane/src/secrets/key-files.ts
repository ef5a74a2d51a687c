// Creates and reads the key material kept in the data folder (key.txt, jwt-secret), mode 0600, created once.
import { randomBytes } from 'node:crypto';
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

export interface KeyMaterial {
  jwtSecret: Uint8Array;
  joinToken: string;
  encryptionKey: Buffer;
  previousEncryptionKeys: Buffer[];
}

export function loadKeyMaterial(cfg: {
  dataDir: string;
  jwtSecret?: string | undefined;
  encryptionKey?: string | undefined;
  previousEncryptionKeys?: string[] | undefined;
  joinToken?: string | undefined;
}): KeyMaterial {
  const jwt = cfg.jwtSecret ?? readOrCreateKeyFile(cfg.dataDir, 'jwt-secret', () => randomBytes(48).toString('base64url'));
  const enc = cfg.encryptionKey ?? readOrCreateKeyFile(cfg.dataDir, 'key.txt', () => randomBytes(32).toString('base64'));
  const encryptionKey = Buffer.from(enc, 'base64');
  if (encryptionKey.length !== 32) throw new Error(`${join(cfg.dataDir, 'key.txt')} must hold 32 bytes, base64-encoded`);
  return {
    jwtSecret: new TextEncoder().encode(jwt),
    joinToken: cfg.joinToken ?? readOrCreateKeyFile(cfg.dataDir, 'join-token', () => `cpj_${randomBytes(24).toString('base64url')}`),
    encryptionKey,
    previousEncryptionKeys: (cfg.previousEncryptionKeys ?? []).map((k) => Buffer.from(k, 'base64')),
  };
}
