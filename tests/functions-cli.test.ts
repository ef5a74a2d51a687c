// The built `cpub` binary against a real server and agent (Podman): register, login, init, deploy with its
// progress output, status, invoke, logs (and -f receiving a line from a new call), env with a secret, keys,
// deployments and rollback, executions, stats, delete, logout — and refresh-and-retry after the access token
// is revoked on the server.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { get as httpGet } from 'node:http';
import { join } from 'node:path';
import { startServer, startAgentProcess, repoRoot, cleanEnv, type RunningServer } from './helpers/server.js';
import { client } from './helpers/http.js';
import { loud, until } from './helpers/hooks.js';

const s = suite('cpub CLI: functions');
const JOIN = 'join-token-for-cli-0123456789abcdef';
let server: RunningServer;
let agent: RunningServer;
let home: string;
let work: string;
const env = () => cleanEnv({ XDG_CONFIG_HOME: home, NO_COLOR: '1' });
const cpub = (args: string[], input = '', cwd = work) => spawnSync(process.execPath, [join(repoRoot, 'bin', 'cpub.js'), ...args], { encoding: 'utf8', input, cwd, env: env() });
const ok = (args: string[], input = '', cwd = work) => {
  const r = cpub(args, input, cwd);
  assert.is(r.status, 0, `cpub ${args.join(' ')}: ${r.stderr}${r.stdout}`);
  return r;
};
const config = () => JSON.parse(readFileSync(join(home, 'containerpub', 'config.json'), 'utf8'));
/** `cpub` on a terminal: util-linux `script` gives it a pty (stdin, stdout and stderr); `input` is typed into it. */
const tty = (args: string[], input = '', cwd = work) => {
  const quote = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;
  const r = spawnSync('script', ['-qec', [process.execPath, join(repoRoot, 'bin', 'cpub.js'), ...args].map(quote).join(' '), '/dev/null'], { encoding: 'utf8', input, cwd, env: cleanEnv({ XDG_CONFIG_HOME: home, TERM: 'xterm' }) });
  return { status: r.status, raw: r.stdout, text: r.stdout.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '') };
};

/**
 * A GET on a connection of its own: a pooled keep-alive connection left idle while spawnSync blocks this process
 * can be closed by the server unseen, and the next fetch on it fails.
 */
function unpooled(url: string, token: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpGet(url, { agent: false, headers: { authorization: `Bearer ${token}` } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
  });
}

/** A config folder of its own for a CLI run as a CI job would make it (none saved); removed after the suite. */
const ciConfigs: string[] = [];
function ciConfig(): string {
  const dir = mkdtempSync(join(tmpdir(), 'cpub-cli-ci-'));
  ciConfigs.push(dir);
  return dir;
}

s.before(
  loud(async () => {
    server = await startServer({ CPUB_JOIN_TOKEN: JOIN });
    home = mkdtempSync(join(tmpdir(), 'cpub-cli-home-'));
    work = mkdtempSync(join(tmpdir(), 'cpub-cli-work-'));
    agent = await startAgentProcess({ CPUB_AGENT_SERVER: server.url, CPUB_AGENT_JOIN_TOKEN: JOIN });
    ok(['register', '--server', server.url, '--email', 'cli@example.com', '--password-stdin'], 'cli-password-1\n');
    ok(['login', '--email', 'cli@example.com', '--password-stdin'], 'cli-password-1\n');
    await until('the agent up', async () => (await client(server.url).get('/api/nodes', config().accessToken)).body.nodes?.[0]?.status === 'up');
  }),
);

s.after(
  loud(async () => {
    await agent?.stop();
    await server?.stop();
    rmSync(home, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
    for (const dir of ciConfigs) rmSync(dir, { recursive: true, force: true });
  }),
);

s('init, deploy with progress, status, invoke', () => {
  const i = ok(['init', 'greeter']);
  assert.match(i.stdout, 'created greeter');
  const again = cpub(['init', 'greeter']);
  assert.is(again.status, 1, 'init never overwrites');
  assert.match(again.stderr, /^error: folder not empty — .*containerpub\.json/);
  const dir = join(work, 'greeter');
  assert.equal(JSON.parse(readFileSync(join(dir, 'containerpub.json'), 'utf8')).name, 'greeter');
  assert.match(ok(['status'], '', dir).stdout, 'greeter: never deployed');
  const d = ok(['deploy'], '', dir);
  // Not a terminal: plain progress lines, the build log streamed, then the version and URL.
  assert.match(d.stderr, /bundled greeter: .* packed, sha256 [0-9a-f]{12}/);
  assert.match(d.stderr, /uploading .*\nuploaded /);
  // The build log streamed under the spinner (plain lines off a terminal): at least one line of it.
  assert.match(d.stderr, /building greeter v1…\n( {2}\S.*\n)+/);
  assert.match(d.stdout, new RegExp(`deployed greeter v1 → ${server.url}/fn/[a-z0-9-]+/greeter`));
  assert.match(ok(['status'], '', dir).stdout, 'greeter: up to date (v1)');
  appendFileSync(join(dir, 'index.ts'), '\n// changed\nexport const version = 2;\n');
  assert.match(ok(['status'], '', dir).stdout, 'greeter: changed since v1');
  const inv = ok(['invoke', 'greeter', '--path', '/?name=Ada', '-v']);
  assert.is(JSON.parse(inv.stdout).message, 'Hello, Ada!');
  assert.match(inv.stderr, /status: 200\n/);
  assert.match(inv.stderr, /^content-type: application\/json$/m, 'the function’s own headers');
  assert.not.match(inv.stderr, /^(connection|keep-alive|transfer-encoding):/m, 'not those of the hop to the container');
  assert.match(inv.stderr, /execution: [0-9a-f-]{36}/);
  const info = JSON.parse(ok(['info', 'greeter', '--json']).stdout);
  assert.equal([info.function.name, info.function.activeVersion], ['greeter', 1]);
  assert.ok(JSON.parse(ok(['list', '--json']).stdout).functions.some((f: { name: string }) => f.name === 'greeter'));
});

s('logs, logs -f receiving a line from a new call, executions, execution, stats', async () => {
  assert.match(ok(['logs', 'greeter']).stdout, /info  [0-9a-f]{8} greeting Ada/);
  const follow = spawn(process.execPath, [join(repoRoot, 'bin', 'cpub.js'), 'logs', 'greeter', '-f', '--since', '1s'], { env: env() });
  let out = '';
  let err = '';
  follow.stdout.on('data', (c: Buffer) => (out += c));
  follow.stderr.on('data', (c: Buffer) => (err += c));
  try {
    await until('the follower connected', async () => err.includes('following'), 15_000);
    ok(['invoke', 'greeter', '--path', '/?name=Live']);
    await until('the live line', async () => out.includes('greeting Live'), 15_000);
  } finally {
    follow.kill();
  }
  const ex = JSON.parse(ok(['executions', 'greeter', '--json']).stdout).executions;
  assert.ok(ex.length >= 2);
  assert.is(ex[0].status, 'success');
  const one = ok(['execution', ex[0].id]);
  assert.match(one.stdout, /status: +success \(HTTP 200\)/);
  assert.match(one.stdout, 'greeting Live');
  // A queued call: its id at once, then its progress and answer; retries set from the CLI.
  const queued = ok(['invoke', 'greeter', '--async', '--path', '/?name=Later']).stdout.trim();
  assert.match(queued, /^[0-9a-f-]{36}$/);
  await until('the queued call ran', async () => /status: +succeeded/.test(ok(['execution', queued]).stdout), 30_000);
  const shown = ok(['execution', queued]).stdout;
  assert.match(shown, /attempts:[\s\S]*success/);
  assert.match(shown, /answer \(HTTP 200\):[\s\S]*Later/);
  const retried = JSON.parse(ok(['update', 'greeter', '--retries', '4', '--retry-backoff', '2s', '--retry-on', 'error,http_5xx', '--async-concurrency', '3', '--json']).stdout).function;
  assert.equal([retried.retry.maxAttempts, retried.retry.backoff.baseMs, retried.retry.on, retried.asyncConcurrency], [4, 2000, ['error', 'http_5xx'], 3]);
  assert.match(ok(['info', 'greeter']).stdout, /async retries: +4 after the first, from 2000 ms/);
  assert.is(cpub(['update', 'greeter', '--retry-on', 'sometimes']).status, 1, 'an unknown outcome is refused by the server');
  // Dead letters from the CLI (the replay itself is in functions-e2e): none here yet.
  assert.equal(JSON.parse(ok(['dlq', 'list', 'greeter', '--json']).stdout), { deadLetters: [], nextCursor: null });
  assert.match(ok(['dlq', 'purge', 'greeter']).stdout, /deleted 0 dead letters/);
  const missing = cpub(['dlq', 'replay', 'greeter', '0193a6f0-0000-7000-8000-000000000000']);
  assert.is(missing.status, 1);
  assert.match(missing.stderr, /no dead letter/);
  // Destinations from the CLI: set, shown, a private address refused, the signing secret read and rotated, cleared.
  ok(['update', 'greeter', '--on-failure', 'https://hooks.example.com/cpub']);
  assert.match(ok(['info', 'greeter']).stdout, /on failure, POST to: +https:\/\/hooks\.example\.com\/cpub/);
  const privateHook = cpub(['update', 'greeter', '--on-success', 'http://192.168.1.9/hook']);
  assert.equal([privateHook.status, /private or reserved address/.test(privateHook.stderr)], [1, true], privateHook.stderr);
  const dsecret = ok(['destination-secret', 'greeter']).stdout.trim();
  assert.match(dsecret, /^cpds_/);
  assert.is.not(ok(['destination-secret', 'greeter', '--rotate']).stdout.trim(), dsecret);
  assert.equal(JSON.parse(ok(['update', 'greeter', '--on-failure', 'none', '--json']).stdout).function.destinations, { onSuccess: null, onFailure: null });
  // Schedules from the CLI: added (its next runs shown), listed, paused, resumed, removed; a bad cron is the server's 400.
  const added = cpub(['schedules', 'add', 'greeter', '0 2 * * *', '--timezone', 'Europe/Paris', '--payload', '{"report":"daily"}']);
  assert.is(added.status, 0, added.stderr);
  const sid = added.stdout.trim();
  assert.match(added.stderr, /next runs: \S+T01:00:00\.000Z, /);
  assert.match(ok(['schedules', 'list', 'greeter']).stdout, new RegExp(`${sid} +0 2 \\* \\* \\* \\(Europe/Paris\\) +\\S+T01:00:00.000Z`));
  assert.match(ok(['schedules', 'pause', 'greeter', sid]).stdout, `paused ${sid}`);
  assert.match(ok(['schedules', 'list', 'greeter']).stdout, /paused/);
  assert.match(ok(['schedules', 'resume', 'greeter', sid]).stdout, /resumed .*; next run \S+T01:00:00.000Z/);
  const badCron = cpub(['schedules', 'add', 'greeter', '* * *']);
  assert.equal([badCron.status, /five fields/.test(badCron.stderr)], [1, true], badCron.stderr);
  assert.is(cpub(['schedules', 'add', 'greeter', '@daily', '--payload', '{oops']).status, 2);
  assert.match(ok(['schedules', 'rm', 'greeter', sid]).stdout, `deleted ${sid}`);
  assert.equal(JSON.parse(ok(['schedules', 'list', 'greeter', '--json']).stdout), { schedules: [] });
  const st = ok(['stats', 'greeter']);
  const calls = Number(/calls: +(\d+) \(\d+ ok, 0 errors/.exec(st.stdout)?.[1]);
  assert.ok(calls >= 2, st.stdout);
  assert.match(st.stdout, /async attempts: +[1-9]\d* \(\d+ retries\)/, 'the queued call counted');
  const bars = /calls\/hour \(24\): ([▁▂▃▄▅▆▇█]{24})/.exec(st.stdout)?.[1] ?? '';
  assert.match(bars, /[▂▃▄▅▆▇█]/, 'the hour of the calls shows');
  assert.match(ok(['stats', 'greeter', '--period', '7d']).stdout, /calls\/day \(7\): +[▁▂▃▄▅▆▇█]{7}/);
  for (const bad of [['stats', 'greeter', '--period', '2d'], ['logs', 'greeter', '--since', 'soon'], ['update', 'greeter', '--timeout', '10x'], ['invoke', 'greeter', '-H', 'no-colon']]) {
    const r = cpub(bad);
    assert.is(r.status, 2, `${bad.join(' ')}: a usage error (${r.stderr})`);
    assert.match(r.stderr, /^error: /);
  }
});

s('env with a secret: masked in the list, present in the function; keys created once, rolled and revoked', () => {
  ok(['deploy', join(repoRoot, 'examples', 'env-echo')]);
  ok(['env', 'set', 'env-echo', 'GREETING=hi']);
  ok(['env', 'set', 'env-echo', '--secret', 'API_TOKEN'], 's3cret-value\n');
  assert.equal(JSON.parse(ok(['invoke', 'env-echo']).stdout), { greeting: 'hi', secretPresent: true, secretLength: 12 });
  const list = ok(['env', 'list', 'env-echo']);
  assert.match(list.stdout, /GREETING +hi +var/);
  assert.match(list.stdout, /API_TOKEN +\S+ +secret/);
  assert.not.match(list.stdout, 's3cret-value');
  const created = ok(['keys', 'create', 'greeter', '--name', 'ci', '--expires', '7d']);
  const secret = created.stdout.trim();
  assert.match(secret, /^cpk_/);
  assert.match(created.stderr, 'shown this once');
  const keys = JSON.parse(ok(['keys', 'list', 'greeter', '--json']).stdout).keys;
  assert.is(keys.length, 1);
  assert.not.match(JSON.stringify(keys), secret);
  // The key calls the function without a login.
  const viaKey = spawnSync(process.execPath, [join(repoRoot, 'bin', 'cpub.js'), 'invoke', 'greeter', '--server', server.url], { encoding: 'utf8', env: cleanEnv({ XDG_CONFIG_HOME: ciConfig(), CPUB_TOKEN: secret }) });
  assert.is(viaKey.status, 0, viaKey.stderr);
  const rolled = ok(['keys', 'roll', 'greeter', keys[0].id]).stdout.trim();
  assert.match(rolled, /^cpk_/);
  assert.is.not(rolled, secret);
  const oldKey = spawnSync(process.execPath, [join(repoRoot, 'bin', 'cpub.js'), 'invoke', 'greeter', '--server', server.url], { encoding: 'utf8', env: cleanEnv({ XDG_CONFIG_HOME: ciConfig(), CPUB_TOKEN: secret }) });
  assert.is(oldKey.status, 1, 'the rolled-over secret no longer works');
  ok(['keys', 'revoke', 'greeter', keys[0].id]);
  assert.ok(JSON.parse(ok(['keys', 'list', 'greeter', '--json']).stdout).keys[0].revokedAt);
});

s('a second version with new settings from containerpub.json, --no-wait, deployments, rollback; update', async () => {
  const dir = join(work, 'greeter');
  const manifest = JSON.parse(readFileSync(join(dir, 'containerpub.json'), 'utf8'));
  writeFileSync(join(dir, 'containerpub.json'), JSON.stringify({ ...manifest, memoryMb: 192, retry: { maxAttempts: 6 } }));
  const d = ok(['deploy', '--no-wait'], '', dir);
  assert.match(d.stderr, "updating greeter's settings from containerpub.json: memoryMb 128 → 192");
  assert.match(d.stderr, /retry \{"maxAttempts":4,.*\} → \{"maxAttempts":6\}/, 'a retry policy in containerpub.json: the fields it names');
  assert.match(d.stdout, 'uploaded greeter v2: building');
  await until('v2 ready', () => JSON.parse(ok(['deployments', 'greeter', '--json']).stdout).deployments[0].status === 'ready', 120_000, 500);
  const deps = JSON.parse(ok(['deployments', 'greeter', '--json']).stdout).deployments;
  assert.equal(
    deps.map((d: { version: number; active: boolean }) => [d.version, d.active]),
    [
      [2, true],
      [1, false],
    ],
  );
  assert.match(ok(['rollback', 'greeter', '1']).stdout, 'v1 is active');
  assert.match(ok(['status'], '', dir).stdout, 'changed since v1');
  assert.match(ok(['update', 'greeter', '--memory', '256', '--timeout', '10s', '--auth', 'public']).stdout, 'updated greeter: 256 MB');
  const f = JSON.parse(ok(['info', 'greeter', '--json']).stdout).function;
  assert.equal([f.memoryMb, f.timeoutMs, f.auth, f.activeVersion], [256, 10_000, 'public', 1]);
  // The queue before a 429: set, shown, back to the default.
  assert.is(JSON.parse(ok(['update', 'greeter', '--queue-timeout', '0', '--json']).stdout).function.queueTimeoutMs, 0);
  assert.match(ok(['info', 'greeter']).stdout, /queue before 429: +none \(a call over capacity is refused at once\)/);
  assert.is(JSON.parse(ok(['update', 'greeter', '--queue-timeout', '2s', '--json']).stdout).function.queueTimeoutMs, 2000);
  assert.is(JSON.parse(ok(['update', 'greeter', '--queue-timeout', 'default', '--json']).stdout).function.queueTimeoutMs, 1000);
  assert.is(cpub(['update', 'greeter', '--queue-timeout', '40s']).status, 1, 'over 30 s: the server’s 400');
  // Aliases: one set (made, then moved), live split and sticky, the split ended, one removed; a bad weight is a usage error.
  assert.match(ok(['aliases', 'set', 'greeter', 'beta', '2']).stdout, 'beta → v2');
  assert.match(ok(['aliases', 'set', 'greeter', 'beta', 'v1']).stdout, 'beta → v1');
  assert.match(ok(['aliases', 'split', 'greeter', 'live', '1=90', '2=10', '--sticky', 'header:x-user']).stdout, 'live: v1 90%, v2 10% (sticky by header:x-user)');
  assert.match(ok(['aliases', 'list', 'greeter']).stdout, /ALIAS\s+VERSION\s+SPLIT\s+STICKY\s+FLOOR\n+live\s+v1\s+v1 90%, v2 10%\s+header:x-user\s+—\n+beta\s+v1\s+—/);
  assert.match(ok(['aliases', 'split', 'greeter', 'live', '--off']).stdout, 'live: no split (v1)');
  const sum = cpub(['aliases', 'split', 'greeter', 'live', '1=50', '2=60']);
  assert.equal([sum.status, /sum to 110/.test(sum.stderr)], [1, true], sum.stderr);
  assert.is(cpub(['aliases', 'split', 'greeter', 'live', '1=half']).status, 2);
  assert.match(ok(['aliases', 'set', 'greeter', 'beta', '2']).stdout, 'beta → v2');
  assert.match(ok(['aliases', 'set', 'greeter', 'beta', '2', '--min-instances', '1']).stdout, 'beta → v2 (warm floor 1)');
  assert.match(ok(['aliases', 'list', 'greeter']).stdout, /beta\s+v2\s+—\s+—\s+1/);
  assert.is(JSON.parse(ok(['aliases', 'set', 'greeter', 'beta', '2', '--min-instances', '0', '--json']).stdout).alias.minInstances, 0);
  ok(['invoke', 'greeter', '--alias', 'beta']);
  assert.is(JSON.parse(ok(['executions', 'greeter', '--json']).stdout).executions[0].version, 2, 'the call through beta ran its version (v1 is active)');
  const nope = cpub(['invoke', 'greeter', '--alias', 'nope']);
  assert.equal([nope.status, /has no alias nope/.test(nope.stderr)], [1, true], nope.stderr);
  assert.match(ok(['aliases', 'rm', 'greeter', 'beta']).stdout, 'deleted beta');
  assert.equal(JSON.parse(ok(['aliases', 'list', 'greeter', '--json']).stdout).aliases.map((a: { name: string }) => a.name), ['live']);
  // A warm floor: set, shown with how the function scales now; more than max instances is the server's 400.
  assert.is(JSON.parse(ok(['update', 'greeter', '--min-instances', '1', '--json']).stdout).function.minInstances, 1);
  await until('the floor held', () => /v1 \(100%\): +\d+ warm \(\d+ busy\), floor 1 of 1/.test(ok(['info', 'greeter']).stdout), 30_000, 500);
  const info = ok(['info', 'greeter']).stdout;
  assert.match(info, /warm floor: +1 \(containers kept started, idle or not\)/);
  assert.match(info, /in flight: +0 of 10 \(concurrency × max instances\)/);
  const over = cpub(['update', 'greeter', '--min-instances', '50']);
  assert.equal([over.status, /minInstances \(50\) is more than maxInstances/.test(over.stderr)], [1, true], over.stderr);
  assert.is(JSON.parse(ok(['update', 'greeter', '--min-instances', '0', '--json']).stdout).function.minInstances, 0);
  // Canaries: deployed as one (not made active), followed, aborted; started for a ready version, promoted; bad input is a usage error.
  assert.is(cpub(['deploy', '--canary', '0%'], '', dir).status, 2);
  assert.is(cpub(['deploy', '--for', '10m'], '', dir).status, 2);
  const c = ok(['deploy', '--canary', '10%', '--for', '1m'], '', dir);
  assert.match(c.stdout, /deployed greeter v3 as a canary/);
  assert.match(c.stdout, /canary: +greeter v3 against v1\n.*state: +running\n.*share: +10% of live's calls/);
  assert.is(JSON.parse(ok(['info', 'greeter', '--json']).stdout).function.activeVersion, 1, 'a canary is not made active');
  assert.match(ok(['aliases', 'list', 'greeter']).stdout, /live\s+v1\s+v1 90%, v3 10%/);
  assert.match(ok(['canary', 'status', 'greeter']).stdout, /state: +running/);
  assert.match(ok(['canary', 'abort', 'greeter']).stdout, 'greeter: canary of v3 aborted; live is v1 again');
  assert.match(ok(['canary', 'start', 'greeter', '3', '--share', '20%', '--for', '1m']).stdout, /state: +running\n.*share: +20%/);
  assert.match(ok(['canary', 'promote', 'greeter']).stdout, 'greeter: canary of v3 promoted; v3 is active');
  assert.equal(JSON.parse(ok(['canary', 'list', 'greeter', '--json']).stdout).canaries.map((x: { state: string }) => x.state), ['promoted', 'aborted']);
  assert.match(ok(['canary', 'list', 'greeter']).stdout, /VERSION\s+AGAINST\s+SHARE\s+WINDOW\s+STATE/);
  assert.match(ok(['rollback', 'greeter', '1']).stdout, 'v1 is active');
});

s('nodes: the fleet; drain and undrain by name; an unknown node is a clear error', async () => {
  const [n] = JSON.parse(ok(['nodes', '--json']).stdout).nodes as { id: string; name: string; status: string }[];
  assert.is(n!.status, 'up');
  const table = ok(['nodes']).stdout;
  assert.match(table, /ID\s+NAME\s+ADDRESS\s+STATUS/);
  assert.match(table, new RegExp(`^${n!.id.slice(0, 8)} `, 'm'));
  assert.match(table, new RegExp(`${n!.name}\\s+\\S+\\s+up`));
  assert.match(ok(['nodes', 'drain', n!.name]).stdout, new RegExp(`^${n!.name}: (drained|draining)`));
  await until('drained', () => JSON.parse(ok(['nodes', 'list', '--json']).stdout).nodes[0].status === 'drained', 10_000);
  assert.match(ok(['nodes', 'undrain', n!.id.slice(0, 8)]).stdout, `${n!.name}: up`, 'the start of an id, as the ID column shows it');
  const drains = ok(['audit', '--all', '--target', `node:${n!.name}`]).stdout;
  assert.match(drains, new RegExp(`node_undrained\\s+cli@example\\.com\\s+-\\s+node:${n!.name}`), 'drains are in the server’s audit trail');
  assert.match(drains, /node_drained/);
  const bad = cpub(['nodes', 'drain', 'no-such-node']);
  assert.is(bad.status, 1);
  assert.match(bad.stderr, /^error: no such node — no-such-node is neither a node id nor a node name/);
  assert.match(cpub(['nodes', '--help']).stdout, /drain \[options\] <node> +finish the calls in flight/);
});

s('teams: create, invite, join, switch, deploy in the team, its URL for members only by role, role change, audit', async () => {
  ok(['team', 'create', 'Payments', '--handle', 'payments']);
  const annHome = mkdtempSync(join(tmpdir(), 'cpub-cli-ann-'));
  const ann = (args: string[], extra: Record<string, string> = {}) => spawnSync(process.execPath, [join(repoRoot, 'bin', 'cpub.js'), ...args], { encoding: 'utf8', input: 'ann-password-1\n', cwd: work, env: cleanEnv({ XDG_CONFIG_HOME: annHome, NO_COLOR: '1', ...extra }) });
  assert.is(ann(['register', '--server', server.url, '--email', 'ann@example.com', '--password-stdin']).status, 0);
  assert.is(ann(['login', '--email', 'ann@example.com', '--password-stdin']).status, 0);
  const invited = ok(['team', 'invite', 'ann@example.com', '--role', 'viewer', '--team', 'payments']);
  assert.match(invited.stderr, 'shown this once');
  const joined = ann(['team', 'join', invited.stdout.trim()]);
  assert.equal([joined.status, joined.stdout.trim()], [0, 'joined team payments as viewer; work in it with: cpub team switch payments'], joined.stderr);

  assert.match(ok(['team', 'switch', 'payments']).stdout, 'now working in team payments (payments, as owner)');
  assert.match(ok(['team', 'list']).stdout, /^\*\s+payments\s+Payments\s+owner\s+team$/m);
  ok(['deploy', join(repoRoot, 'examples', 'hello')]);
  const fn = JSON.parse(ok(['info', 'hello', '--json']).stdout).function;
  assert.equal([fn.team, fn.url], ['payments', '/fn/payments/hello']);
  const url = `${server.url}/fn/payments/hello`;
  const annToken = JSON.parse(readFileSync(join(annHome, 'containerpub', 'config.json'), 'utf8')).accessToken;
  assert.is((await unpooled(url, config().accessToken)).status, 200, 'the owner calls it');
  const asViewer = await unpooled(url, annToken);
  assert.equal([asViewer.status, JSON.parse(asViewer.body).code], [403, 'role_forbids'], 'a viewer may not call it (it does not allow viewers)');

  // The viewer reads but cannot deploy; made a developer, they can call it.
  assert.is(ann(['info', 'hello'], { CPUB_TEAM: 'payments' }).status, 0);
  const denied = ann(['deploy', join(repoRoot, 'examples', 'hello')], { CPUB_TEAM: 'payments' });
  assert.is(denied.status, 1);
  assert.match(denied.stderr, /does not allow functions:deploy/);
  assert.match(ok(['team', 'role', 'ann@example.com', 'developer']).stdout, 'ann@example.com is now developer in payments');
  assert.is((await unpooled(url, annToken)).status, 200, 'a developer calls it');
  assert.match(ok(['team', 'members']).stdout, /ann@example\.com\s+ann\s+developer/);

  // A team service token for CI: deploys as the team, within its scopes, with no login.
  const ciToken = ok(['token', 'create', 'ci', '--team', 'payments', '--scopes', 'functions:read,functions:deploy,logs:read', '--expires', '7d']);
  assert.match(ciToken.stderr, 'shown this once');
  const ci = (args: string[]) => spawnSync(process.execPath, [join(repoRoot, 'bin', 'cpub.js'), ...args, '--server', server.url], { encoding: 'utf8', cwd: work, env: cleanEnv({ XDG_CONFIG_HOME: ciConfig(), CPUB_TOKEN: ciToken.stdout.trim(), NO_COLOR: '1' }) });
  const ciDeploy = ci(['deploy', join(repoRoot, 'examples', 'hello')]);
  assert.is(ciDeploy.status, 0, ciDeploy.stderr);
  assert.match(ciDeploy.stdout + ciDeploy.stderr, /version 2/);
  assert.match(ok(['audit', '--event', 'deployed']).stdout, /deployed\s+service token of payments\s+function:hello/, 'the audit trail says a service token deployed it');
  const ciUpdate = ci(['update', 'hello', '--memory', '256']);
  assert.is(ciUpdate.status, 1);
  assert.match(ciUpdate.stderr, /do not include functions:write/);
  assert.match(ok(['token', 'list', '--team', 'payments']).stdout, /ci\s+cps_\S+\s+functions:read,functions:deploy,logs:read\s+-\s+active/);

  const audit = ok(['audit']).stdout;
  for (const event of ['deployed', 'function_created', 'member_invited', 'invitation_accepted', 'member_role_changed', 'team_created']) assert.match(audit, event);
  assert.match(audit, /member_role_changed\s+cli@example\.com\s+member:ann@example\.com\s+before \{"role":"viewer"\} after \{"role":"developer"\}/);
  assert.match(ok(['team', 'switch']).stdout, 'now working in your personal team');
  assert.not.match(ok(['list']).stdout, /\bhello\b.*payments/);
  rmSync(annHome, { recursive: true, force: true });
});

s('on a terminal: an upload bar and a build spinner, the rollback picker, delete asking for the name', () => {
  ok(['init', 'tty-fn']);
  const dir = join(work, 'tty-fn');
  const first = tty(['deploy'], '', dir);
  assert.is(first.status, 0, first.text);
  assert.match(first.raw, /\r\x1b\[Kuploading \[#{30}\] 100% /, 'the bar is redrawn in place (\\r, erase line) and reaches 100%');
  assert.match(first.raw, /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] building tty-fn v1/, 'a spinner while it builds');
  assert.match(first.text, /deployed tty-fn v1 → /);
  appendFileSync(join(dir, 'index.ts'), '\n// v2\nexport const v = 2;\n');
  ok(['deploy'], '', dir);
  const picked = tty(['rollback', 'tty-fn'], '1\n');
  assert.is(picked.status, 0, picked.text);
  assert.match(picked.text, /1\) v1 +[0-9a-f]{12}/);
  assert.match(picked.text, /Roll back to which \(1–1\)\?/);
  assert.match(picked.text, /rolled back tty-fn: v1 is active/);
  const wrong = tty(['delete', 'tty-fn'], 'not-it\n');
  assert.is(wrong.status, 1);
  assert.match(wrong.text, /Type its name to confirm: .*\n.*error: not deleted — the name did not match/s);
  const deleted = tty(['delete', 'tty-fn'], 'tty-fn\n');
  assert.is(deleted.status, 0, deleted.text);
  assert.match(deleted.text, /deleted tty-fn/);
});

s('a refresh that fails asks the user to log in again', () => {
  const file = join(home, 'containerpub', 'config.json');
  const saved = readFileSync(file, 'utf8');
  writeFileSync(file, JSON.stringify({ ...JSON.parse(saved), accessToken: 'not-a-token', refreshToken: 'not-a-refresh-token' }), { mode: 0o600 });
  try {
    const r = cpub(['list']);
    assert.is(r.status, 1);
    assert.match(r.stderr, /^error: not logged in — your session has ended; run `cpub login`/);
  } finally {
    writeFileSync(file, saved, { mode: 0o600 });
  }
});

s('a revoked access token is refreshed once and the call retried; delete; logout', async () => {
  const api = client(server.url);
  const mine = config();
  // Another session of the same user logs out naming the CLI's access token: that token is denied on the server.
  const other = (await api.post('/api/auth/login', { email: 'cli@example.com', password: 'cli-password-1' })).body;
  assert.is((await api.post('/api/auth/logout', { refreshToken: other.refreshToken }, mine.accessToken)).status, 200);
  assert.is((await api.get('/api/users/me', mine.accessToken)).status, 401, 'control: the CLI’s access token is revoked');
  assert.match(ok(['info', 'greeter']).stdout, /name: +greeter/);
  assert.is.not(config().refreshToken, mine.refreshToken, 'the rotated refresh token is stored');
  const noYes = cpub(['delete', 'greeter']);
  assert.is(noYes.status, 2, 'no terminal and no --yes: nothing deleted');
  ok(['delete', 'greeter', '--yes']);
  const gone = cpub(['info', 'greeter']);
  assert.is(gone.status, 1);
  assert.match(gone.stderr, /^error: Not Found — /);
  ok(['logout']);
  assert.match(cpub(['whoami']).stderr, /^error: /);
});

s.run();
