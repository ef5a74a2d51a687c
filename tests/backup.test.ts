// Backup and restore on the real server and agent: a backup taken while calls and a deploy go on restores into
// a new data folder where the user logs in, the function serves its active version and its secret decrypts;
// restore refuses a folder that holds data; rotate-key re-seals every secret so the old key can be retired.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanEnv, serverBin, startAgentProcess, startServer, type RunningServer } from './helpers/server.js';
import { client, type Client } from './helpers/http.js';
import { loud, until } from './helpers/hooks.js';
import { fnArtifact } from './helpers/agent.js';
import { createTestDatabase } from './helpers/postgres.js';

const s = suite('backup, restore and key rotation');
const work = mkdtempSync(join(tmpdir(), 'cpub-backup-'));
const running: RunningServer[] = [];
const SECRET = `s3cret-${randomBytes(6).toString('hex')}`;
const handler = `(req, ctx) => new Response(ctx.env.API_TOKEN + ' v' + ctx.function.version)`;

const cli = (args: string[], env: Record<string, string | undefined> = {}) => spawnSync(process.execPath, [serverBin, ...args], { encoding: 'utf8', env: cleanEnv(env), timeout: 120_000 });

async function up(dataDir: string, env: Record<string, string | undefined> = {}): Promise<{ server: RunningServer; api: Client }> {
  const server = await startServer({ CPUB_DATA_DIR: dataDir, CPUB_BUILD_AGENT_WAIT: '60s', ...env });
  running.push(server);
  const agent = await startAgentProcess({ CPUB_AGENT_SERVER: server.url, CPUB_AGENT_JOIN_TOKEN: readFileSync(join(dataDir, 'join-token'), 'utf8').trim() });
  running.push(agent);
  const api = client(server.url);
  return { server, api };
}

async function login(api: Client): Promise<string> {
  const r = await api.post('/api/auth/login', { email: 'keeper@example.com', password: 'password-for-tests-1' });
  assert.is(r.status, 200, r.text);
  return r.body.accessToken as string;
}

async function stopAll(): Promise<void> {
  for (const p of running.splice(0).reverse()) await p.stop();
}

s.after(
  loud(async () => {
    await stopAll();
    rmSync(work, { recursive: true, force: true });
  }),
);

s('a backup under load restores into a new folder where everything serves; restore refuses a full folder; rotate-key re-seals', async () => {
  const first = join(work, 'first');
  const { server, api } = await up(first);
  await api.post('/api/auth/register', { email: 'keeper@example.com', password: 'password-for-tests-1' });
  const token = await login(api);
  const handle = (await api.get('/api/users/me', token)).body.handle as string;
  assert.is((await api.post('/api/functions', { name: 'keeper', auth: 'public' }, token)).status, 201);
  assert.is((await api.call('PUT', '/api/functions/keeper/env', { token, body: { secrets: { API_TOKEN: SECRET } } })).status, 200);
  const deploy = async () => {
    const art = await fnArtifact(handler);
    return fetch(`${server.url}/api/functions/keeper/deployments?wait=true`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/gzip' }, body: new Uint8Array(readFileSync(art.path)) });
  };
  assert.is((await deploy()).status, 201);
  const url = (base: string) => `${base}/fn/${handle}/keeper`;
  assert.is(await (await fetch(url(server.url))).text(), `${SECRET} v1`);

  // Calls and a deploy go on while the backup runs.
  let calling = true;
  let calls = 0;
  const load = (async () => {
    while (calling) {
      const r = await fetch(url(server.url));
      await r.arrayBuffer();
      if (r.status === 200) calls++;
    }
  })();
  const second = deploy();
  const file = join(work, 'backup.tar.gz');
  const b = cli(['backup', '--data-dir', first, '--out', file, '--include-keys']);
  calling = false;
  await load;
  assert.is((await second).status, 201);
  assert.is(b.status, 0, b.stderr);
  assert.match(b.stdout, /backup written to .*sqlite database, \d+ artifacts, key files/);
  assert.is(statSync(file).mode & 0o777, 0o600);
  assert.ok(calls > 0, 'calls were served during the backup');
  await stopAll();

  // Restore refuses a folder that holds data.
  const refused = cli(['restore', file, '--data-dir', first]);
  assert.is.not(refused.status, 0);
  assert.match(refused.stderr, 'restore fills an empty data folder');

  const restored = join(work, 'restored');
  const r = cli(['restore', file, '--data-dir', restored]);
  assert.is(r.status, 0, r.stderr);
  const again = await up(restored);
  const t2 = await login(again.api);
  const fn = await again.api.get('/api/functions/keeper', t2);
  assert.is(fn.status, 200);
  const active = fn.body.function.activeVersion as number;
  assert.ok(active >= 1);
  // The active version, built again on the new agent from the restored artifact, with its secret decrypted.
  await until('the restored function serves', async () => (await fetch(url(again.server.url))).status === 200, 120_000, 500);
  assert.is(await (await fetch(url(again.server.url))).text(), `${SECRET} v${active}`);
  await stopAll();

  // Key rotation: the secret re-sealed under a new key; the server then starts with the new key alone.
  const oldKey = readFileSync(join(restored, 'key.txt'), 'utf8').trim();
  const newKey = randomBytes(32).toString('base64');
  const rot = cli(['rotate-key', '--data-dir', restored], { CPUB_ENCRYPTION_KEY: newKey, CPUB_PREVIOUS_ENCRYPTION_KEYS: oldKey });
  assert.is(rot.status, 0, rot.stderr);
  assert.match(rot.stdout, /re-sealed [1-9]\d* values? under the current key/);
  const rotated = await up(restored, { CPUB_ENCRYPTION_KEY: newKey });
  await until('the function serves under the new key', async () => (await fetch(url(rotated.server.url))).status === 200, 120_000, 500);
  assert.is(await (await fetch(url(rotated.server.url))).text(), `${SECRET} v${active}`);
  const again2 = cli(['rotate-key', '--data-dir', restored], { CPUB_ENCRYPTION_KEY: newKey });
  assert.match(again2.stdout, /re-sealed 0 values under the current key/, again2.stderr);
});

s('PostgreSQL: pg_dump into the backup, pg_restore into an empty database; secrets open there; a database with tables is refused', async () => {
  const source = await createTestDatabase();
  const target = await createTestDatabase();
  const dataDir = join(work, 'pg-first');
  try {
    const server = await startServer({ CPUB_DATA_DIR: dataDir, DATABASE_URL: source.url });
    running.push(server);
    const api = client(server.url);
    await api.post('/api/auth/register', { email: 'keeper@example.com', password: 'password-for-tests-1' });
    const token = await login(api);
    assert.is((await api.post('/api/functions', { name: 'kept' }, token)).status, 201);
    assert.is((await api.call('PUT', '/api/functions/kept/env', { token, body: { secrets: { API_TOKEN: SECRET } } })).status, 200);
    const file = join(work, 'pg-backup.tar.gz');
    const b = cli(['backup', '--data-dir', dataDir, '--out', file, '--include-keys'], { DATABASE_URL: source.url });
    assert.is(b.status, 0, b.stderr);
    assert.match(b.stdout, 'postgres database');
    await stopAll();

    const refused = cli(['restore', file, '--data-dir', join(work, 'pg-refused')], { DATABASE_URL: source.url });
    assert.is.not(refused.status, 0);
    assert.match(refused.stderr, 'restore fills an empty database');

    const restoredDir = join(work, 'pg-restored');
    const r = cli(['restore', file, '--data-dir', restoredDir], { DATABASE_URL: target.url });
    assert.is(r.status, 0, r.stderr);
    const again = await startServer({ CPUB_DATA_DIR: restoredDir, DATABASE_URL: target.url });
    running.push(again);
    const api2 = client(again.url);
    const t2 = await login(api2);
    const env = await api2.get('/api/functions/kept/env', t2);
    assert.equal(env.body.env.map((e: { key: string; secret: boolean }) => [e.key, e.secret]), [['API_TOKEN', true]]);
    await stopAll();
    // The secret opens under the restored key: rotating to a new key has to open it first.
    const rot = cli(['rotate-key', '--data-dir', restoredDir], { DATABASE_URL: target.url, CPUB_ENCRYPTION_KEY: randomBytes(32).toString('base64'), CPUB_PREVIOUS_ENCRYPTION_KEYS: readFileSync(join(restoredDir, 'key.txt'), 'utf8').trim() });
    assert.is(rot.status, 0, rot.stderr);
    assert.match(rot.stdout, /re-sealed [1-9]\d* values? under the current key/);
  } finally {
    await stopAll();
    await source.drop();
    await target.drop();
  }
});

s.run();
