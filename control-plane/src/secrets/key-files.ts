// The control plane's key material: from its settings, else the data folder's key files (common/key-files.ts).
import { randomBytes } from 'node:crypto';
import { readOrCreateKeyFile } from '../../../common/key-files.js';
import { join } from 'node:path';

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
