// `cpub-server` as a user runs it: bad configuration, help, key files, migrate, admin create, TLS, kill -9 durability.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, serverBin, cleanEnv, repoRoot } from './helpers/server.js';
import { client } from './helpers/http.js';
import { createTestDatabase, freePort } from './helpers/postgres.js';
import { until } from './helpers/hooks.js';

const s = suite('cpub-server command line');
const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'cpub-cli-'));
  dirs.push(d);
  return d;
};
const run = (args: string[], env: Record<string, string> = {}, input?: string) =>
  spawnSync(process.execPath, [serverBin, ...args], { cwd: repoRoot, env: cleanEnv(env), input, encoding: 'utf8', timeout: 60_000 });

s.after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

s('a server whose output nobody reads any more (its pipe closed: EPIPE) serves, and stops when told', async () => {
  // `| true`: the pipe's reader is gone before the server has written a byte (its banner on stderr, its log lines).
  const port = await freePort();
  const proc = spawn('/bin/sh', ['-c', '"$0" "$@" 2>&1 | true', process.execPath, serverBin, 'start', '--port', String(port), '--data-dir', tmp()], { cwd: repoRoot, env: cleanEnv({}), stdio: 'ignore', detached: true });
  const exited = new Promise<number | null>((r) => proc.once('exit', r));
  try {
    const health = async () => (await fetch(`http://127.0.0.1:${port}/health`).catch(() => undefined))?.status === 200;
    await until('the server answers /health, or ends', async () => proc.exitCode !== null || (await health()), 60_000, 200);
    assert.is(proc.exitCode, null, 'the server runs on');
    await new Promise((r) => setTimeout(r, 500)); // its periodic log flush meets the closed pipe too
    assert.ok(await health(), 'and still answers');
    // The server alone is told (the shell waits for it, then exits).
    const server = Number(spawnSync('pgrep', ['-P', String(proc.pid), '-f', serverBin], { encoding: 'utf8' }).stdout.trim());
    assert.ok(server > 0, 'the server process found');
    process.kill(server, 'SIGTERM');
    const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('hung'), 20_000))]);
    assert.is(code, 0, 'it stops when told');
  } finally {
    if (proc.exitCode === null) process.kill(-proc.pid!, 'SIGKILL');
  }
});

s('a bad value stops the server at start, naming the variable', () => {
  for (const [env, name] of [
    [{ CPUB_PORT: 'abc' }, 'CPUB_PORT'],
    [{ CPUB_REGISTRATION: 'sometimes' }, 'CPUB_REGISTRATION'],
    [{ DATABASE_URL: 'mysql://db' }, 'DATABASE_URL'],
  ] as const) {
    const r = run(['start'], { ...env, CPUB_DATA_DIR: tmp() });
    assert.is(r.status, 2, name);
    assert.match(r.stderr, name);
    assert.match(r.stderr, /^error: invalid configuration/);
  }
  const flag = run(['start', '--port', '-5', '--data-dir', tmp()]);
  assert.is(flag.status, 2);
  assert.match(flag.stderr, '--port');
});

s('--help explains the commands and every setting', () => {
  const top = run(['--help']);
  assert.is(top.status, 0);
  for (const c of ['start', 'migrate', 'admin']) assert.match(top.stdout, c);
  const start = run(['start', '--help']);
  for (const v of ['CPUB_HOST', 'CPUB_PORT', 'CPUB_DATA_DIR', 'DATABASE_URL', 'CPUB_JWT_SECRET', 'CPUB_ENCRYPTION_KEY', 'CPUB_REGISTRATION', 'CPUB_PUBLIC_URL', 'CPUB_LOG_LEVEL', 'CPUB_TLS_CERT', 'CPUB_TLS_KEY']) {
    assert.match(start.stdout, v);
  }
});

s('migrate applies once, then reports up to date', () => {
  const dir = tmp();
  const a = run(['migrate', '--data-dir', dir]);
  assert.is(a.status, 0, a.stderr);
  assert.match(a.stdout, 'applied: 0001-users-and-tokens, 0002-nodes');
  const b = run(['migrate'], { CPUB_DATA_DIR: dir });
  assert.match(b.stdout, 'up to date');
});

s('key files are created once, mode 0600, and survive restarts; data survives kill -9', async () => {
  const dir = tmp();
  let srv = await startServer({ CPUB_DATA_DIR: dir });
  try {
    const key = join(dir, 'key.txt');
    const jwt = join(dir, 'jwt-secret');
    assert.is(statSync(key).mode & 0o777, 0o600);
    assert.is(statSync(jwt).mode & 0o777, 0o600);
    assert.is(Buffer.from(readFileSync(key, 'utf8').trim(), 'base64').length, 32);
    const before = readFileSync(key, 'utf8');
    const api = client(srv.url);
    assert.is((await api.post('/api/auth/register', { email: 'k@example.com', password: 'kill-nine-pass' })).status, 201);
    const tokens = (await api.post('/api/auth/login', { email: 'k@example.com', password: 'kill-nine-pass' })).body;
    srv.proc.kill('SIGKILL');
    await new Promise((r) => srv.proc.once('exit', r));
    srv = await startServer({ CPUB_DATA_DIR: dir });
    assert.is(readFileSync(key, 'utf8'), before, 'key.txt unchanged');
    const api2 = client(srv.url);
    assert.is((await api2.get('/api/users/me', tokens.accessToken)).status, 200, 'a token from before the restart still works');
    assert.is((await api2.post('/api/auth/login', { email: 'k@example.com', password: 'kill-nine-pass' })).status, 200, 'the account survived kill -9');
  } finally {
    await srv.stop();
  }
});

for (const dialect of ['sqlite', 'postgres'] as const) {
  s(`closed registration [${dialect}]: 403 for the API; admin create works, password from stdin`, async () => {
    const dir = tmp();
    const pg = dialect === 'postgres' ? await createTestDatabase() : undefined;
    const env: Record<string, string> = { CPUB_DATA_DIR: dir, CPUB_REGISTRATION: 'closed', ...(pg ? { DATABASE_URL: pg.url } : {}) };
    try {
      const created = run(['admin', 'create', '--email', 'Root@Example.com', '--name', 'Root'], env, 'root-password-1\n');
      assert.is(created.status, 0, created.stderr);
      assert.match(created.stdout, 'created admin root@example.com');
      const srv = await startServer(env);
      try {
        const api = client(srv.url);
        const r = await api.post('/api/auth/register', { email: 'new@example.com', password: 'new-password-1' });
        assert.is(r.status, 403);
        assert.is(r.body.code, 'registration_closed');
        const t = await api.post('/api/auth/login', { email: 'root@example.com', password: 'root-password-1' });
        assert.is(t.status, 200);
        const me = await api.get('/api/users/me', t.body.accessToken);
        assert.is(me.body.role, 'admin');
        assert.is(me.body.name, 'Root');
      } finally {
        await srv.stop();
      }
      const dup = run(['admin', 'create', '--email', 'root@example.com'], env, 'another-password\n');
      assert.is.not(dup.status, 0);
      assert.match(dup.stderr, 'already exists');
      const empty = run(['admin', 'create', '--email', 'x@example.com'], env, '');
      assert.is.not(empty.status, 0);
      assert.match(empty.stderr, 'no password');
    } finally {
      await pg?.drop();
    }
  });
}

s('an admin made by `admin create` takes the first-admin slot: the next public registration is a plain user', async () => {
  const dir = tmp();
  const created = run(['admin', 'create', '--email', 'ops@example.com'], { CPUB_DATA_DIR: dir }, 'ops-password-1\n');
  assert.is(created.status, 0, created.stderr);
  const srv = await startServer({ CPUB_DATA_DIR: dir });
  try {
    const r = await client(srv.url).post('/api/auth/register', { email: 'public@example.com', password: 'public-password' });
    assert.is(r.status, 201);
    assert.is(r.body.user.role, 'user');
  } finally {
    await srv.stop();
  }
});

s('with CPUB_TLS_CERT and CPUB_TLS_KEY the server speaks HTTPS', async () => {
  const dir = tmp();
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  const gen = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1'], { encoding: 'utf8' });
  assert.is(gen.status, 0, gen.stderr);
  const srv = await startServer({ CPUB_DATA_DIR: join(dir, 'data'), CPUB_TLS_CERT: cert, CPUB_TLS_KEY: key });
  try {
    assert.ok(srv.url.startsWith('https://'), srv.url);
    const body = await new Promise<string>((resolve, reject) => {
      request(`${srv.url}/health`, { ca: readFileSync(cert) }, (res) => {
        let b = '';
        res.on('data', (d) => (b += d));
        res.on('end', () => resolve(b));
      })
        .on('error', reject)
        .end();
    });
    assert.equal(JSON.parse(body), { status: 'ok' });
  } finally {
    await srv.stop();
  }
});

s.run();
