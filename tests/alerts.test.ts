// Alerting end to end, with the rules' defaults (CPUB_ALERT_EVERY left at 5 s): a real cpub-server and cpub-agent
// (Podman), a local webhook receiver (checking each delivery's signature) and a local SMTP sink. A function that
// starts failing raises the built-in error-rate alert at the team's webhook, Slack and email channels within 30 s
// and resolves within 60 s of its recovery; a replayed refresh token raises a security alert at the fleet's channel
// within 5 s; a silenced alert is tracked but not sent; a killed node alerts within its TTL. Address rules, the
// fleet's channels and another team's channels are refused as they should be.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer, type Server } from 'node:http';
import { createHmac } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import { startServer, startAgentProcess, type RunningServer } from './helpers/server.js';
import { client, type Client } from './helpers/http.js';
import { loud, until } from './helpers/hooks.js';
import { fnArtifact } from './helpers/agent.js';

const s = suite('alerts: rules fire and resolve, delivered to webhook, Slack, Alertmanager and email channels');
const JOIN = 'join-token-for-alerts-0123456789ab';

interface Received {
  path: string;
  at: number;
  body: any;
  headers: Record<string, string | string[] | undefined>;
}
const received: Received[] = [];
const mails: { at: number; to: string; text: string }[] = [];
/** Paths answered 503 the first time (a retry must follow). */
const failOnce = new Set(['/team']);
let receiver: Server;
let smtp: SMTPServer;
let server: RunningServer;
let agent: RunningServer | undefined;
let agentDir: string;
let api: Client;
let token: string;
let handle: string;
let base: string;

function startReceiver(): Promise<string> {
  receiver = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (p: Buffer) => parts.push(p));
    req.on('end', () => {
      const raw = Buffer.concat(parts);
      if (failOnce.delete(req.url!)) {
        res.writeHead(503).end();
        return;
      }
      received.push({ path: req.url!, at: Date.now(), body: JSON.parse(raw.toString('utf8')), headers: { ...req.headers, raw: raw.toString('utf8') } });
      res.writeHead(200).end('ok');
    });
  });
  return new Promise((resolve) => receiver.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(receiver.address() as AddressInfo).port}`)));
}

function startSmtp(): Promise<number> {
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, done) {
      const parts: Buffer[] = [];
      stream.on('data', (p: Buffer) => parts.push(p));
      stream.on('end', () => {
        mails.push({ at: Date.now(), to: session.envelope.rcptTo.map((r) => r.address).join(','), text: Buffer.concat(parts).toString('utf8') });
        done();
      });
    },
  });
  return new Promise((resolve) => smtp.listen(0, '127.0.0.1', () => resolve((smtp.server.address() as AddressInfo).port)));
}

const sigOk = (r: Received, secret: string) => r.headers['x-cpub-signature'] === createHmac('sha256', secret).update(`${r.headers['x-cpub-timestamp']}:`).update(r.headers.raw as string).digest('base64');

let teamSecret: string;
let fleetSecret: string;

s.before(
  loud(async () => {
    base = await startReceiver();
    const smtpPort = await startSmtp();
    server = await startServer({ CPUB_JOIN_TOKEN: JOIN, CPUB_DESTINATION_ALLOW: '127.0.0.1', CPUB_SMTP_URL: `smtp://127.0.0.1:${smtpPort}`, CPUB_SMTP_FROM: 'alerts@cpub.test', CPUB_TRUST_PROXY: 'true' });
    api = client(server.url);
    await api.post('/api/auth/register', { email: 'ops@example.com', password: 'ops-password-123' });
    token = (await api.post('/api/auth/login', { email: 'ops@example.com', password: 'ops-password-123' })).body.accessToken;
    handle = (await api.get('/api/users/me', token)).body.handle;
    agentDir = mkdtempSync(join(tmpdir(), 'cpub-alerts-'));
    agent = await startAgentProcess({ CPUB_AGENT_DATA_DIR: agentDir, CPUB_AGENT_SERVER: server.url, CPUB_AGENT_JOIN_TOKEN: JOIN, CPUB_AGENT_NAME: 'alerting-node' });
    await until('the node up', async () => (await api.get<{ nodes: { status: string }[] }>('/api/nodes', token)).body.nodes[0]?.status === 'up', 30_000);
    assert.is((await api.post('/api/functions', { name: 'flaky', auth: 'public' }, token)).status, 201);
    const art = await fnArtifact(`(req) => { if (new URL(req.url).searchParams.has('fail')) throw new Error('broken'); return new Response('ok'); }`);
    const res = await fetch(`${server.url}/api/functions/flaky/deployments?wait=true`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/gzip' }, body: new Uint8Array(readFileSync(art.path)) });
    assert.is(res.status, 201, await res.text());
  }),
);

s.after(
  loud(async () => {
    await agent?.stop();
    await server?.stop();
    if (agentDir) rmSync(agentDir, { recursive: true, force: true });
    receiver?.close();
    smtp?.close();
  }),
);

s('channels: a webhook (secret shown once), Slack, Alertmanager, email; refused addresses, fields and scopes', async () => {
  const team = await api.post('/api/alerts/channels', { name: 'team-hook', type: 'webhook', url: `${base}/team` }, token);
  assert.is(team.status, 201, JSON.stringify(team.body));
  assert.match(team.body.secret, /^cpds_/);
  teamSecret = team.body.secret;
  assert.is((await api.post('/api/alerts/channels', { name: 'team-slack', type: 'slack', url: `${base}/slack/T000/B000/XXXX` }, token)).status, 201);
  assert.is((await api.post('/api/alerts/channels', { name: 'team-mail', type: 'email', to: ['oncall@example.com'] }, token)).status, 201);
  const fleet = await api.post('/api/alerts/channels', { name: 'fleet-hook', type: 'webhook', url: `${base}/fleet`, fleet: true }, token);
  assert.is(fleet.status, 201);
  fleetSecret = fleet.body.secret;
  assert.is((await api.post('/api/alerts/channels', { name: 'fleet-am', type: 'alertmanager', url: `${base}/am`, fleet: true }, token)).status, 201);

  const list = await api.get('/api/alerts/channels', token);
  assert.equal(list.body.channels.map((c: { name: string }) => c.name), ['team-hook', 'team-slack', 'team-mail']);
  const slack = list.body.channels.find((c: { name: string }) => c.name === 'team-slack');
  assert.not.match(slack.target, /XXXX/, 'a Slack webhook’s path (its credential) is not shown');
  assert.not.ok(JSON.stringify(list.body).includes(teamSecret), 'the secret is not shown again');

  const privateUrl = await api.post('/api/alerts/channels', { name: 'lan', type: 'webhook', url: 'http://10.1.2.3/hook' }, token);
  assert.is(privateUrl.status, 400);
  assert.is(privateUrl.body.code, 'invalid_channel');
  assert.match(privateUrl.body.detail, /CPUB_DESTINATION_ALLOW/);
  const typo = await api.post('/api/alerts/channels', { name: 'x', type: 'webhook', url: `${base}/x`, retries: 3 }, token);
  assert.is(typo.status, 400);
  assert.match(typo.body.detail, /retries/);
  const noTo = await api.post('/api/alerts/channels', { name: 'y', type: 'email' }, token);
  assert.is(noTo.status, 400);

  // Another account: not an administrator, and the first team's channels are not found.
  await api.post('/api/auth/register', { email: 'dev@example.com', password: 'dev-password-1234' });
  const other = (await api.post('/api/auth/login', { email: 'dev@example.com', password: 'dev-password-1234' })).body.accessToken;
  const asDev = await api.post('/api/alerts/channels', { name: 'z', type: 'webhook', url: `${base}/z`, fleet: true }, other);
  assert.is(asDev.status, 403);
  assert.is(asDev.body.code, 'admin_only');
  assert.is((await api.del(`/api/alerts/channels/${team.body.channel.id}`, undefined, other)).status, 404);
  assert.equal((await api.get('/api/alerts/channels', other)).body.channels, []);

  const test = await api.post(`/api/alerts/channels/${fleet.body.channel.id}/test`, {}, token);
  assert.equal(test.body, { delivered: true, error: null });
  const got = received.find((r) => r.path === '/fleet' && r.body.groupLabels.alertname === 'Test alert');
  assert.ok(got && sigOk(got, fleetSecret), 'the test alert arrived, signed');
  received.length = 0;
});

s('rules: the built-in ones are listed with their defaults; a team adds and changes its own; bad rules are refused', async () => {
  const rules = (await api.get('/api/alerts/rules', token)).body.rules as { id: string; kind: string; params: Record<string, unknown>; builtin: boolean }[];
  const errorRate = rules.find((r) => r.id === 'builtin:error-rate')!;
  assert.equal([errorRate.params.threshold, errorRate.params.windowSec, errorRate.params.minCalls], [5, 30, 10]);
  assert.ok(rules.some((r) => r.id === 'builtin:refresh-reuse' && r.params.event === 'refresh_reuse'));
  const mine = await api.post('/api/alerts/rules', { kind: 'latency_p95', function: 'flaky', params: { threshold: 2000, factor: null } }, token);
  assert.is(mine.status, 201, JSON.stringify(mine.body));
  assert.is(mine.body.rule.function, `${handle}/flaky`);
  const changed = await api.patch(`/api/alerts/rules/${mine.body.rule.id}`, { params: { windowSec: 600 } }, token);
  assert.equal([changed.body.rule.params.threshold, changed.body.rule.params.windowSec], [2000, 600]);
  assert.is((await api.post('/api/alerts/rules', { kind: 'error_rate', params: { threshold: 150 } }, token)).status, 400);
  const typo = await api.post('/api/alerts/rules', { kind: 'error_rate', params: { treshold: 10 } }, token);
  assert.is(typo.status, 400);
  assert.match(typo.body.detail, /treshold/);
  assert.is((await api.post('/api/alerts/rules', { kind: 'node_down' }, token)).status, 400, 'node rules are fleet-wide');
  assert.is((await api.del(`/api/alerts/rules/${mine.body.rule.id}`, undefined, token)).status, 204);
});

const call = (fail: boolean) => fetch(`${server.url}/fn/${handle}/flaky${fail ? '?fail' : ''}`).then((r) => r.status);
/** Calls at about `perSecond` until `stop()`. */
function traffic(fail: () => boolean, perSecond = 4) {
  let on = true;
  const done = (async () => {
    while (on) {
      await call(fail());
      await new Promise((r) => setTimeout(r, 1000 / perSecond));
    }
  })();
  return async () => {
    on = false;
    await done;
  };
}

s('a function that starts failing alerts within 30 s and resolves within 60 s of its recovery (built-in error-rate rule, defaults)', async () => {
  let failing = true;
  const brokeAt = Date.now();
  const stop = traffic(() => failing);
  try {
    await until('the error-rate alert at the team webhook', () => received.some((r) => r.path === '/team' && r.body.status === 'firing' && r.body.groupLabels.rule === 'builtin:error-rate'), 40_000, 100);
    const firing = received.find((r) => r.path === '/team' && r.body.status === 'firing')!;
    const firedIn = firing.at - brokeAt;
    console.log(`    error-rate alert delivered ${(firedIn / 1000).toFixed(1)} s after the function broke`);
    assert.ok(firedIn <= 30_000, `fired within 30 s (${firedIn} ms)`);
    // The Alertmanager webhook format, signed; retried after the receiver's first 503.
    assert.is(firing.body.version, '4');
    assert.is(firing.body.alerts.length, 1);
    const a = firing.body.alerts[0];
    assert.is(a.labels.function, `${handle}/flaky`);
    assert.is(a.labels.severity, 'critical');
    assert.match(a.annotations.summary, /of its calls failed/);
    assert.is(a.endsAt, '0001-01-01T00:00:00Z');
    assert.ok(sigOk(firing, teamSecret), 'signed with the channel secret');
    const channels = (await api.get('/api/alerts/channels', token)).body.channels as { name: string; lastDelivery: { attempts: number; state: string } | null }[];
    assert.is(channels.find((c) => c.name === 'team-hook')!.lastDelivery!.attempts, 2, 'the first attempt was answered 503 and retried');
    await until('Slack and email got it too', () => received.some((r) => r.path.startsWith('/slack/') && /FIRING/.test(r.body.text)) && mails.some((m) => /FIRING/.test(m.text) && m.to === 'oncall@example.com'), 15_000);
    // One alert, however many passes saw it (de-duplicated), listed as firing.
    const open = (await api.get('/api/alerts?state=firing', token)).body.alerts as { ruleId: string; function: string }[];
    assert.equal(open.filter((x) => x.ruleId === 'builtin:error-rate').map((x) => x.function), [`${handle}/flaky`]);
    await new Promise((r) => setTimeout(r, 6000));
    assert.is(received.filter((r) => r.path === '/team' && r.body.status === 'firing').length, 1, 'sent once, not once per pass');

    failing = false;
    const fixedAt = Date.now();
    await until('the resolution at the team webhook', () => received.some((r) => r.path === '/team' && r.body.status === 'resolved'), 70_000, 100);
    const resolved = received.find((r) => r.path === '/team' && r.body.status === 'resolved')!;
    const resolvedIn = resolved.at - fixedAt;
    console.log(`    resolved ${(resolvedIn / 1000).toFixed(1)} s after the function recovered`);
    assert.ok(resolvedIn <= 60_000, `resolved within 60 s (${resolvedIn} ms)`);
    assert.is.not(resolved.body.alerts[0].endsAt, '0001-01-01T00:00:00Z');
  } finally {
    await stop();
  }
  const history = (await api.get('/api/alerts?state=resolved', token)).body.alerts as { ruleId: string; resolvedAt: string }[];
  assert.ok(history.some((x) => x.ruleId === 'builtin:error-rate' && x.resolvedAt), 'kept in the history');
});

s('a replayed refresh token raises a security alert at the fleet channel within 5 s', async () => {
  await api.post('/api/auth/register', { email: 'victim@example.com', password: 'victim-password-1' });
  const first = (await api.post('/api/auth/login', { email: 'victim@example.com', password: 'victim-password-1' })).body.refreshToken;
  assert.is((await api.post('/api/auth/refresh', { refreshToken: first })).status, 200);
  // From another address (a replay, not a second tab of the same client).
  const at = Date.now();
  const replay = await api.post('/api/auth/refresh', { refreshToken: first }, undefined, { 'x-forwarded-for': '203.0.113.9' });
  assert.is(replay.body.code, 'refresh_token_reused');
  await until('the security alert at the fleet webhook', () => received.some((r) => r.path === '/fleet' && r.body.groupLabels.rule === 'builtin:refresh-reuse'), 10_000, 50);
  const got = received.find((r) => r.path === '/fleet' && r.body.groupLabels.rule === 'builtin:refresh-reuse')!;
  console.log(`    security alert delivered ${got.at - at} ms after the replay`);
  assert.ok(got.at - at <= 5000, `within 5 s (${got.at - at} ms)`);
  assert.match(got.body.alerts[0].labels.subject, /victim@example\.com/);
  assert.ok(sigOk(got, fleetSecret));
  // The Alertmanager channel got Alertmanager's API body.
  await until('the Alertmanager API got it', () => received.some((r) => r.path === '/am/api/v2/alerts' && Array.isArray(r.body) && r.body[0].labels.rule === 'builtin:refresh-reuse'), 5000);
  // A team member who is not an administrator does not see fleet alerts.
  const dev = (await api.post('/api/auth/login', { email: 'dev@example.com', password: 'dev-password-1234' })).body.accessToken;
  assert.is((await api.get('/api/alerts?fleet=true', dev)).status, 403);
  assert.not.ok(((await api.get('/api/alerts', dev)).body.alerts as unknown[]).length, 'none of another team’s alerts');
});

s('a silenced alert is tracked and listed, but not sent', async () => {
  const silence = await api.post('/api/alerts/silences', { ruleId: 'builtin:login-throttled', durationSec: 3600, comment: 'pen test', fleet: true }, token);
  assert.is(silence.status, 201, JSON.stringify(silence.body));
  for (let i = 0; i < 12; i++) await api.post('/api/auth/login', { email: 'victim@example.com', password: 'wrong-password-xx' });
  await until('the throttling alert firing', async () => ((await api.get('/api/alerts?fleet=true&state=firing', token)).body.alerts as { ruleId: string }[]).some((x) => x.ruleId === 'builtin:login-throttled'), 15_000, 200);
  const alert = ((await api.get('/api/alerts?fleet=true&state=firing', token)).body.alerts as { ruleId: string; silenced: boolean }[]).find((x) => x.ruleId === 'builtin:login-throttled')!;
  assert.ok(alert.silenced);
  await new Promise((r) => setTimeout(r, 2000));
  assert.not.ok(received.some((r) => r.path === '/fleet' && r.body.groupLabels.rule === 'builtin:login-throttled'), 'not delivered');
  assert.is((await api.del(`/api/alerts/silences/${silence.body.silence.id}`, undefined, token)).status, 204);
  assert.equal((await api.get('/api/alerts/silences?fleet=true', token)).body.silences, []);
});

s('a killed node alerts within its TTL (10 s)', async () => {
  const at = Date.now();
  agent!.proc.kill('SIGKILL');
  await until('the node alert at the fleet webhook', () => received.some((r) => r.path === '/fleet' && r.body.groupLabels.rule === 'builtin:node-down' && r.body.status === 'firing'), 20_000, 100);
  const got = received.find((r) => r.path === '/fleet' && r.body.groupLabels.rule === 'builtin:node-down')!;
  console.log(`    node alert delivered ${got.at - at} ms after the kill`);
  assert.ok(got.at - at <= 10_000, `within the TTL (${got.at - at} ms)`);
  assert.is(got.body.alerts[0].labels.node, 'alerting-node');
});

s.run();
