// PEM files named by settings (TLS certificates, keys, CAs): read at start, and a missing or unreadable file
// stops the start with the setting's name in the message.
import { readFileSync } from 'node:fs';

export function readPemFile(path: string, variable: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new Error(`${variable}: cannot read ${path}: ${(err as Error).message}`);
  }
}
