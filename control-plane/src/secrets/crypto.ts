// AES-256-GCM encryption of secrets at rest, with a versioned, key-identified ciphertext so keys can rotate.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { AppError } from '../errors.js';

/**
 * Ciphertext format (text, safe in any column):
 *   v1.<keyId>.<iv base64url>.<ciphertext base64url>.<tag base64url>
 * keyId is the first 8 hex characters of SHA-256(key), so a value says which key sealed it.
 * Associated data (e.g. "function:<id>:env:<name>") binds a ciphertext to its place: moved elsewhere, it fails.
 */
const VERSION = 'v1';

export interface Sealer {
  /** Encrypts with the primary key. */
  seal(plaintext: string, aad?: string): string;
  /** Decrypts with whichever configured key sealed it; throws AppError `undecryptable` otherwise. */
  open(sealed: string, aad?: string): string;
  /** True when the value was sealed with an older key and should be re-sealed. */
  needsRotation(sealed: string): boolean;
  readonly primaryKeyId: string;
}

export function keyId(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 8);
}

export function createSealer(primary: Buffer, previous: Buffer[] = []): Sealer {
  for (const k of [primary, ...previous]) {
    if (k.length !== 32) throw new Error('encryption keys must be 32 bytes');
  }
  const keys = new Map<string, Buffer>();
  for (const k of [primary, ...previous]) keys.set(keyId(k), k);
  const primaryKeyId = keyId(primary);

  return {
    primaryKeyId,
    seal(plaintext, aad = '') {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', primary, iv);
      cipher.setAAD(Buffer.from(aad, 'utf8'));
      const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      const tag = cipher.getAuthTag();
      return [VERSION, primaryKeyId, iv.toString('base64url'), ct.toString('base64url'), tag.toString('base64url')].join('.');
    },
    open(sealed, aad = '') {
      const parts = sealed.split('.');
      if (parts.length !== 5 || parts[0] !== VERSION) throw undecryptable('unknown ciphertext format');
      const [, id, iv, ct, tag] = parts as [string, string, string, string, string];
      const key = keys.get(id);
      if (!key) throw undecryptable(`sealed with key ${id}, which is not configured`);
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
        decipher.setAAD(Buffer.from(aad, 'utf8'));
        decipher.setAuthTag(Buffer.from(tag, 'base64url'));
        return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString('utf8');
      } catch {
        throw undecryptable('authentication failed (wrong key, tampered value or wrong context)');
      }
    },
    needsRotation(sealed) {
      return sealed.split('.')[1] !== primaryKeyId;
    },
  };
}

function undecryptable(detail: string) {
  return new AppError('unavailable', 'undecryptable', `cannot decrypt a stored secret: ${detail}`);
}
