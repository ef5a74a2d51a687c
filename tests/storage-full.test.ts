// A full disk under the server's data folder (a small tmpfs, filled): uploads and writes answer
// 507 insufficient_storage (never a 500), /ready says not ready while /health stays up, and once space is back
// the server serves again by itself.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, rmdirSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type RunningServer } from './helpers/server.js';
import { client, type Client } from './helpers/http.js';
import { loud, until } from './helpers/hooks.js';
import { rawTarGz } from './helpers/raw-tar.js';
import { BASIC } from './helpers/hostile-artifacts.js';

const s = suite('storage full');
let mount: string;
let server: RunningServer;
let api: Client;
let token: string;
const filler = () => join(mount, 'filler');

/** Writes zeros until the file system refuses: the disk is full. */
function fill(): void {
  const fd = openSync(filler(), 'w');
  const chunk = Buffer.alloc(2 ** 20);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (err) {
    if ((err as { code?: string }).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
  // The last bytes, page by page.
  const small = openSync(join(mount, 'filler-tail'), 'w');
  try {
    for (;;) writeSync(small, Buffer.alloc(4096));
  } catch {
    // full
  } finally {
    closeSync(small);
  }
}

const upload = async () => {
  const res = await fetch(`${server.url}/api/functions/disk/deployments`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/gzip' }, body: new Uint8Array(rawTarGz([BASIC.manifest, BASIC.entry])) });
  return { status: res.status, body: (await res.json()) as { code?: string } };
};
/** 25 values of 32 KiB (`seed` makes them new): the database must grow to take them. */
const bigEnv = (seed = 0) => api.call('PUT', '/api/functions/disk/env', { token, body: { vars: Object.fromEntries(Array.from({ length: 25 }, (_, i) => [`V${i}`, String.fromCharCode(97 + ((i + seed) % 26)).repeat(32_000)])) } });

s.before(
  loud(async () => {
    mount = mkdtempSync(join(tmpdir(), 'cpub-full-'));
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=48m,mode=0700', 'tmpfs', mount], { encoding: 'utf8' });
    if (m.status !== 0) throw new Error(`this suite needs root to mount a small tmpfs: ${m.stderr}`);
    server = await startServer({ CPUB_DATA_DIR: join(mount, 'data'), CPUB_BUILD_AGENT_WAIT: '1s' });
    api = client(server.url);
    await api.post('/api/auth/register', { email: 'disk@example.com', password: 'password-for-tests-1' });
    token = (await api.post('/api/auth/login', { email: 'disk@example.com', password: 'password-for-tests-1' })).body.accessToken;
    assert.is((await api.post('/api/functions', { name: 'disk' }, token)).status, 201);
    assert.is((await api.get('/ready')).status, 200);
  }),
);

s.after(
  loud(async () => {
    await server?.stop();
    spawnSync('umount', ['-l', mount]);
    rmSync(mount, { recursive: true, force: true });
    try {
      rmdirSync(mount);
    } catch {
      // gone already
    }
  }),
);

s('a full data folder: 507 for writes, 503 from /ready, /health up, no 500 anywhere; back by itself once space returns', async () => {
  fill();
  const up = await upload();
  assert.is(up.status, 507, JSON.stringify(up.body));
  assert.is(up.body.code, 'insufficient_storage');
  // SQLite's write-ahead log file may still have room from before the disk filled (it is reused after a
  // checkpoint, not shrunk): writes go on into it until it too is full. Every answer is a 200 or a 507, and the
  // 507 comes within a few writes.
  let env = await bigEnv();
  for (let i = 1; i < 20 && env.status === 200; i++) env = await bigEnv(i);
  assert.is(env.status, 507, env.text);
  assert.is(env.body.code, 'insufficient_storage');
  // A login writes a little (audit, tokens): the database may still have room for it, or not — never a 500.
  const login = await api.post('/api/auth/login', { email: 'disk@example.com', password: 'password-for-tests-1' });
  assert.ok([200, 507].includes(login.status), `login: ${login.status} ${login.text}`);
  // /ready checks at most once a second.
  await until('/ready says not ready', async () => (await api.get('/ready')).status === 503, 5000, 200);
  const ready = await api.get('/ready');
  assert.is(ready.body.code, 'insufficient_storage');
  assert.is((await api.get('/health')).status, 200);

  rmSync(filler(), { force: true });
  rmSync(join(mount, 'filler-tail'), { force: true });
  await until('/ready says ready again', async () => (await api.get('/ready')).status === 200, 10_000, 200);
  assert.is((await upload()).status, 202);
  assert.is((await bigEnv()).status, 200);
  assert.is((await api.post('/api/auth/login', { email: 'disk@example.com', password: 'password-for-tests-1' })).status, 200);
  assert.not.match(server.output(), 'unhandled error', 'no request ended in a 500');
});

s.run();
