// `cpub register | login | whoami | logout` against a real server: tokens kept 0600, refreshed once on a 401,
// and clear errors when logged out.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, repoRoot, cleanEnv, type RunningServer } from './helpers/server.js';
import { loud } from './helpers/hooks.js';

const s = suite('cpub CLI: auth');
let server: RunningServer;
let home: string;
const cpub = (args: string[], input = '') =>
  spawnSync(process.execPath, [join(repoRoot, 'bin', 'cpub.js'), ...args], { encoding: 'utf8', input, env: cleanEnv({ XDG_CONFIG_HOME: home }) });
const configFile = () => join(home, 'containerpub', 'config.json');

s.before(
  loud(async () => {
    server = await startServer();
    home = mkdtempSync(join(tmpdir(), 'cpub-cli-'));
  }),
);
s.after(
  loud(async () => {
    await server?.stop();
    rmSync(home, { recursive: true, force: true });
  }),
);

s('register, login, whoami; the config file is 0600 and holds the tokens', () => {
  const r = cpub(['register', '--server', server.url, '--email', 'dev@example.com', '--password-stdin'], 'dev-password-1\n');
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, 'registered dev@example.com (admin)');
  const l = cpub(['login', '--email', 'dev@example.com', '--password-stdin'], 'dev-password-1\n');
  assert.is(l.status, 0, l.stderr);
  assert.is(statSync(configFile()).mode & 0o777, 0o600);
  const cfg = JSON.parse(readFileSync(configFile(), 'utf8'));
  assert.is(cfg.server, server.url);
  assert.ok(cfg.accessToken && cfg.refreshToken);
  const w = cpub(['whoami', '--json']);
  assert.is(JSON.parse(w.stdout).email, 'dev@example.com');
});

s('a dead access token is refreshed once and the rotated tokens are saved', () => {
  const cfg = JSON.parse(readFileSync(configFile(), 'utf8'));
  writeFileSync(configFile(), JSON.stringify({ ...cfg, accessToken: 'expired.or.garbage' }), { mode: 0o600 });
  const w = cpub(['whoami']);
  assert.is(w.status, 0, w.stderr);
  assert.match(w.stdout, 'dev@example.com');
  const after = JSON.parse(readFileSync(configFile(), 'utf8'));
  assert.is.not(after.refreshToken, cfg.refreshToken, 'the refresh token rotated and was stored');
});

s('without a terminal the password comes only with --password-stdin (a usage error otherwise)', () => {
  const r = cpub(['login', '--email', 'dev@example.com'], 'dev-password-1\n');
  assert.is(r.status, 2);
  assert.match(r.stderr, /^error: no terminal to ask for the password — pass --password-stdin/);
});

s('wrong password and logged-out use print `error: <title> — <detail>` and exit 1', () => {
  const bad = cpub(['login', '--email', 'dev@example.com', '--password-stdin'], 'not-the-password\n');
  assert.is(bad.status, 1);
  assert.match(bad.stderr, /^error: Unauthorized — email or password is incorrect/);
  assert.is(cpub(['logout']).status, 0);
  const w = cpub(['whoami']);
  assert.is(w.status, 1);
  assert.match(w.stderr, /^error: /);
});

s.run();
