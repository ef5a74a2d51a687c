// The web dashboard in a real browser (Debian's Chromium driven by playwright-core) against a real server and
// agent: log in, create a function, deploy examples/hello through the API, invoke it from the form, see its log
// line arrive in the live tail and the execution in the list, roll back, set a secret and see it masked, drain
// and undrain a node as admin; another user's function is a 404 and a form without its CSRF token is refused.
// Screenshots go to tests/artifacts/ (ignored by git).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startServer, startAgentProcess, repoRoot, type RunningServer } from './helpers/server.js';
import { client, type Client } from './helpers/http.js';
import { loud, until } from './helpers/hooks.js';
import { fnArtifact } from './helpers/agent.js';
import { packFunction } from '../common/pack.js';

const s = suite('dashboard in Chromium');
const JOIN = 'join-token-for-dashboard-0123456789';
const ARTIFACTS = join(repoRoot, 'tests', 'artifacts');
let server: RunningServer;
let agent: RunningServer;
let api: Client;
let browser: Browser;
let page: Page;
let adminToken: string;

const upload = async (name: string, bytes: Buffer) => {
  const res = await fetch(`${server.url}/api/functions/${name}/deployments?wait=true`, { method: 'POST', headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/gzip' }, body: new Uint8Array(bytes) });
  assert.is(res.status, 201, await res.text());
};
/** Clicks a form's button and waits for the page it leads to (a redirect back, with a notice). */
const submit = async (button: ReturnType<Page['locator']>) => {
  await Promise.all([page.waitForEvent('load'), button.click()]);
};
const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });

s.before(
  loud(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    server = await startServer({ CPUB_JOIN_TOKEN: JOIN });
    api = client(server.url);
    await api.post('/api/auth/register', { email: 'admin@example.com', password: 'admin-password-1' });
    adminToken = (await api.post('/api/auth/login', { email: 'admin@example.com', password: 'admin-password-1' })).body.accessToken;
    // Another user with a function of their own.
    await api.post('/api/auth/register', { email: 'other@example.com', password: 'other-password-1' });
    const other = (await api.post('/api/auth/login', { email: 'other@example.com', password: 'other-password-1' })).body.accessToken;
    assert.is((await api.post('/api/functions', { name: 'theirs' }, other)).status, 201);
    agent = await startAgentProcess({ CPUB_AGENT_SERVER: server.url, CPUB_AGENT_JOIN_TOKEN: JOIN });
    await until('the agent up', async () => (await api.get('/api/nodes', adminToken)).body.nodes?.[0]?.status === 'up');
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    });
    page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  }),
);

s.after(
  loud(async () => {
    await browser?.close();
    await agent?.stop();
    await server?.stop();
  }),
);

s('log in: a page without a session goes to the login form, and back after it', async () => {
  await page.goto(`${server.url}/ui/functions`);
  assert.match(page.url(), /\/ui\/login\?next=%2Fui%2Ffunctions$/);
  await page.getByLabel('Email').fill('admin@example.com');
  await page.getByLabel('Password').fill('wrong-password');
  await page.getByRole('button', { name: 'Log in' }).click();
  assert.match(await page.getByRole('alert').innerText(), /Wrong email or password/);
  await page.getByLabel('Email').fill('admin@example.com');
  await page.getByLabel('Password').fill('admin-password-1');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL(/\/ui\/functions$/);
  assert.is(await page.getByRole('heading', { level: 1 }).innerText(), 'Functions');
  const cookies = await page.context().cookies();
  const at = cookies.find((c) => c.name === 'cpub_at')!;
  assert.ok(at.httpOnly && at.sameSite === 'Strict', 'the session cookie is httpOnly and SameSite=Strict');
});

s('create a function from the form, deploy examples/hello through the API, invoke it from the form', async () => {
  await page.getByLabel('Name').fill('web');
  await page.getByLabel('Who may call it').selectOption('public');
  await page.getByRole('button', { name: 'Create function' }).click();
  await page.waitForURL(/\/ui\/functions\/web$/);
  assert.match(await page.locator('h1').innerText(), /web\s+not deployed/);
  await upload('web', (await packFunction(join(repoRoot, 'examples', 'hello'))).bytes);
  await page.reload();
  assert.match(await page.locator('#versions').innerText(), /v1\s+active\s+ready\s+[0-9a-f]{12}\s+node\s/, 'its runtime beside its digest');
  assert.match(await page.locator('#fn-url').innerText(), /\/fn\/[a-z0-9-]+\/web$/);
  // The live tail is open before the call: its log line arrives over Server-Sent Events.
  await until('the live tail connected', async () => (await page.locator('[data-tail-state]').innerText()) === 'live', 10_000);
  const url = await page.locator('#fn-url').innerText();
  const called = await fetch(`${server.url}${url}?name=Tail`);
  assert.is(called.status, 200);
  await until('the log line in the live tail', async () => (await page.locator('pre.tail').innerText()).includes('greeting Tail'), 10_000);
  // And from the invoke form: the answer shows on the page, with its execution.
  await page.getByLabel('Path and query').fill('/?name=Browser');
  await page.getByRole('button', { name: 'Invoke' }).click();
  await page.waitForSelector('#invoke-body');
  assert.match(await page.locator('#invoke-body').innerText(), /"message":"Hello, Browser!"/);
  assert.match(await page.locator('#invoke-result').innerText(), /HTTP 200/);
  // The page after the call reconnects its tail: the call's log line is there with the earlier one.
  await until('the form call’s log line in the live tail', async () => (await page.locator('pre.tail').innerText()).includes('greeting Browser'), 10_000);
  const executions = await page.locator('#executions').innerText();
  assert.is((executions.match(/success/g) ?? []).length, 2, executions);
  await page.locator('#invoke-result a').click();
  await page.waitForURL(/\/ui\/executions\/[0-9a-f-]{36}$/);
  assert.match(await page.locator('#execution-logs').innerText(), /greeting Browser/);
  await page.goto(`${server.url}/ui/functions/web`);
});

s('roll back from the versions table; set a secret and see it masked; edit limits', async () => {
  await upload('web', readFileSync((await fnArtifact(`() => new Response('v2')`)).path));
  await page.goto(`${server.url}/ui/functions/web`);
  assert.match(await page.locator('#versions').innerText(), /v2\s+active\s+ready/);
  const log = await page.request.get(`${server.url}${await page.locator('#versions a', { hasText: 'build log' }).first().getAttribute('href')}`);
  assert.match(await log.text(), /building version 2 on node /, 'the build log, linked from the versions table');
  await submit(page.getByRole('button', { name: 'Roll back to v1' }));
  assert.match(await page.getByRole('status').first().innerText(), /Rolled back: v1 is active/);
  assert.is((await api.get('/api/functions/web', adminToken)).body.function.activeVersion, 1);
  const envForm = page.locator('form[action="/ui/functions/web/env"]');
  await envForm.getByLabel('Key').fill('API_TOKEN');
  await envForm.getByLabel('Value').fill('s3cret-value');
  await envForm.getByLabel('secret').check();
  await submit(envForm.getByRole('button', { name: 'Set' }));
  const env = await page.locator('#env').innerText();
  assert.match(env, /API_TOKEN\s+••••••••\s+secret/);
  assert.not.match(await page.content(), /s3cret-value/, 'the secret value is never in the page');
  await page.getByLabel('Memory (MB)').fill('256');
  await submit(page.getByRole('button', { name: 'Save settings' }));
  assert.is((await api.get('/api/functions/web', adminToken)).body.function.memoryMb, 256);
  await shot('function-page');
});

s('aliases: one set from the function’s page and called at its URL; live split by weight (a bad split says why), the split ended; deleted', async () => {
  await page.goto(`${server.url}/ui/functions/web`);
  assert.match(await page.locator('#aliases').innerText(), /live\s+v1\s+—\s+—\s+—\s+\/fn\/\S+\/web/);
  const set = page.locator('form', { has: page.getByRole('button', { name: 'Set alias' }) });
  await set.getByLabel('Alias').fill('canary');
  await set.getByLabel('Version').fill('2');
  await submit(set.getByRole('button', { name: 'Set alias' }));
  assert.match(await page.getByRole('status').first().innerText(), /canary → v2\./);
  const url = (await page.locator('#aliases tr[data-alias="canary"] td').nth(5).innerText()).trim();
  assert.match(url, /\/web@canary$/);
  const splitForm = page.locator('form', { has: page.getByRole('button', { name: 'Split' }) });
  await splitForm.getByLabel('Weights').fill('1=50 2=60');
  await submit(splitForm.getByRole('button', { name: 'Split' }));
  assert.match(await page.getByRole('alert').first().innerText(), /sum to 110/);
  await splitForm.getByLabel('Weights').fill('1=90 2=10');
  await splitForm.getByLabel('Sticky by').fill('header:x-user');
  await submit(splitForm.getByRole('button', { name: 'Split' }));
  assert.match(await page.getByRole('status').first().innerText(), /live split: v1 90%, v2 10%\./);
  assert.match(await page.locator('#aliases tr[data-alias="live"]').innerText(), /v1 90%, v2 10%\s+header:x-user/);
  await shot('aliases');
  await submit(page.locator('#aliases tr[data-alias="live"]').getByRole('button', { name: 'End split' }));
  assert.match(await page.getByRole('status').first().innerText(), /Split ended\./);
  await submit(page.locator('#aliases tr[data-alias="canary"]').getByRole('button', { name: 'Delete' }));
  assert.match(await page.getByRole('status').first().innerText(), /Alias deleted\./);
  assert.equal((await api.get('/api/functions/web/aliases', adminToken)).body.aliases.map((a: { name: string; weights: unknown }) => [a.name, a.weights]), [['live', null]]);
});

s('API keys: created once (the secret shown once), revoked', async () => {
  const keysForm = page.locator('form[action="/ui/functions/web/keys"]');
  await keysForm.getByLabel('Name').fill('ci');
  await keysForm.getByRole('button', { name: 'Create key' }).click();
  const secret = await page.locator('#new-secret').innerText();
  assert.match(secret, /^cpk_/);
  assert.is(new URL(page.url()).pathname, '/ui/functions/web', 'shown after a redirect: a reload posts nothing again');
  const listed = async () => (await api.get('/api/functions/web/keys', adminToken)).body.keys.length as number;
  const before = await listed();
  await page.reload();
  assert.not.match(await page.content(), new RegExp(secret), 'shown once only');
  assert.is(await listed(), before, 'the reload created no other key');
  await submit(page.locator('#keys').getByRole('button', { name: 'Revoke' }));
  assert.match(await page.locator('#keys').innerText(), /revoked/);
});

s('dead letters: an async call that failed is listed on its function’s page; replayed, deleted; its own page shows its attempts', async () => {
  assert.is((await api.post('/api/functions', { name: 'flaky', retry: { maxAttempts: 0 } }, adminToken)).status, 201);
  await upload('flaky', readFileSync((await fnArtifact(`async () => { throw new Error('always'); }`)).path));
  const queued = await api.post('/api/functions/flaky/invoke', { method: 'POST', body: 'x' }, adminToken, { prefer: 'respond-async' });
  assert.is(queued.status, 202, queued.text);
  const id = queued.body.executionId as string;
  await until('the dead letter', async () => (await api.get('/api/functions/flaky/dead-letters', adminToken)).body.deadLetters?.length === 1);
  await page.goto(`${server.url}/ui/functions/flaky`);
  const table = page.locator('#dead-letters');
  assert.match(await table.innerText(), /1\s+POST \/\s+the function threw: always/);
  await shot('dead-letters');
  await submit(table.getByRole('button', { name: 'Replay' }));
  assert.match(await page.content(), /Replayed as call [0-9a-f]{8}/);
  // The replay fails too, and takes its place; deleted from the page.
  await until('the replay’s dead letter', async () => (await api.get('/api/functions/flaky/dead-letters', adminToken)).body.deadLetters?.[0]?.id !== id);
  await page.reload();
  await submit(page.locator('#dead-letters').getByRole('button', { name: 'Delete' }));
  assert.match(await page.content(), /Dead letter deleted/);
  assert.is(await page.locator('#dead-letters').count(), 0, 'none left');
  await page.goto(`${server.url}/ui/executions/${id}`);
  assert.match(await page.locator('h1').innerText(), /Queued call [0-9a-f]{8}\s+failed/);
  assert.match(await page.locator('#call-attempts').innerText(), /1\s+error\s+500/);
});

s('schedules: added from the function’s page (a bad cron says why), listed with next runs, fired, paused, resumed, deleted', async () => {
  await page.goto(`${server.url}/ui/functions/flaky`);
  const form = page.locator('form', { has: page.getByRole('button', { name: 'Add schedule' }) });
  await form.getByLabel('Cron').fill('61 * * * *');
  await submit(form.getByRole('button', { name: 'Add schedule' }));
  assert.match(await page.content(), /Invalid value for minute: 61/);
  await form.getByLabel('Cron').fill('@every 1s');
  await form.getByLabel('Payload (JSON)').fill('{"from":"dashboard"}');
  await submit(form.getByRole('button', { name: 'Add schedule' }));
  assert.match(await page.content(), /Schedule added: next run \d{4}-/);
  await until('a tick fired', async () => (await api.get('/api/functions/flaky/schedules', adminToken)).body.schedules[0].fired > 0);
  await page.reload();
  const table = page.locator('#schedules');
  assert.match(await table.innerText(), /@every 1s\s+(\d{4}-\d\d-\d\d [\d:]+Z, ){2}\d{4}-\d\d-\d\d [\d:]+Z\s+\d{4}-/);
  await shot('schedules');
  // Its call is an async call of the function (this one fails: it lands in the dead letters, as any async call would).
  // (The link is the last call when the page was drawn: the schedule fires every second, so the API's lastCallId may be newer.)
  const link = table.getByRole('link').first();
  const href = await link.getAttribute('href');
  assert.match(href ?? '', /^\/ui\/executions\/[0-9a-f-]{36}$/);
  await link.click();
  await page.waitForURL(`**${href}`);
  assert.match(await page.content(), /via schedule/);
  await page.goBack();
  await submit(page.locator('#schedules').getByRole('button', { name: 'Pause' }));
  assert.match(await page.locator('#schedules').innerText(), /paused/);
  await submit(page.locator('#schedules').getByRole('button', { name: 'Resume' }));
  assert.match(await page.content(), /Schedule resumed/);
  await submit(page.locator('#schedules').getByRole('button', { name: 'Delete' }));
  assert.is(await page.locator('#schedules').count(), 0, 'none left');
});

s('the functions list: status, version, calls and a sparkline', async () => {
  await page.goto(`${server.url}/ui/functions`);
  const row = page.locator('tr', { hasText: 'web' });
  assert.match(await row.innerText(), /web\s+ready\s+v1\s+2\s+0/);
  assert.is(await row.locator('svg.spark').count(), 1);
  await shot('functions-list');
});

s('teams: the switcher in every page’s header; a team’s functions under it; a viewer sees but cannot change; back to the personal team', async () => {
  const other = (await api.post('/api/auth/login', { email: 'other@example.com', password: 'other-password-1' })).body.accessToken;
  assert.is((await api.post('/api/teams', { name: 'Ops', handle: 'ops' }, other)).status, 201);
  const inv = await api.post('/api/teams/ops/invitations', { email: 'admin@example.com', role: 'viewer' }, other);
  assert.is((await api.post(`/api/invitations/${inv.body.invitation.token}/accept`, undefined, adminToken)).status, 200);
  assert.is((await api.call('POST', '/api/functions', { body: { name: 'ops-fn', team: 'ops' }, token: other })).status, 201);

  await page.goto(`${server.url}/ui/functions`);
  const switcher = page.getByLabel('Team', { exact: true });
  assert.match(await switcher.locator('option:checked').innerText(), /\(personal\)/, 'the personal team to begin with');
  await switcher.selectOption('ops');
  await submit(page.getByRole('button', { name: 'Switch' }));
  assert.match(await page.getByLabel('Team', { exact: true }).locator('option:checked').innerText(), /Ops · viewer/, 'the header says which team, and the role');
  const list = await page.locator('main').innerText();
  assert.match(list, /ops-fn/);
  assert.not.match(list, /\bweb\b/, 'the personal team’s functions are not listed here');
  await page.goto(`${server.url}/ui/functions/ops-fn`);
  assert.match(await page.locator('h1').innerText(), /ops-fn/);
  const envForm = page.locator('form[action="/ui/functions/ops-fn/env"]');
  await envForm.getByLabel('Key').fill('X');
  await envForm.getByLabel('Value').fill('1');
  await submit(envForm.getByRole('button', { name: 'Set' }));
  assert.match(await page.getByRole('alert').first().innerText(), /\(viewer\) does not allow env:write/);
  await shot('team-viewer');
  const personal = await page.getByLabel('Team', { exact: true }).locator('option', { hasText: '(personal)' }).getAttribute('value');
  await page.getByLabel('Team', { exact: true }).selectOption(personal!);
  await submit(page.getByRole('button', { name: 'Switch' }));
  assert.match(await page.locator('main').innerText(), /\bweb\b/, 'back in the personal team');
  // The personal team's audit trail, from the header (its owner).
  await Promise.all([page.waitForEvent('load'), page.getByRole('link', { name: 'Audit' }).click()]);
  const audit = await page.locator('#audit').innerText();
  assert.match(audit, /function_created\s+admin@example\.com\s+function:web/);
  assert.match(audit, /env_set\s+admin@example\.com\s+env:web\s+after \{"vars":\[\],"secrets":\["API_TOKEN"\]\}/);
  assert.not.match(await page.content(), /s3cret-value/);
  await shot('audit');
});

s('warm floor and canaries from the function’s page: a floor set and held; a canary started, aborted, started and promoted; one that fails rolls itself back', async () => {
  await page.goto(`${server.url}/ui/functions/web`);
  const floor = page.locator('form', { has: page.getByRole('button', { name: 'Set floor' }) });
  await floor.getByLabel('Warm floor').fill('1');
  await submit(floor.getByRole('button', { name: 'Set floor' }));
  assert.match(await page.getByRole('status').first().innerText(), /Warm floor set: 1 containers kept started\./);
  await until('the floor held on the page', async () => {
    await page.reload();
    return (await page.locator('#warm tr[data-version="1"] [data-floor-held]').innerText()).trim() === '1 of 1';
  }, 30_000, 500);
  await shot('scaling');
  await floor.getByLabel('Warm floor').fill('0');
  await submit(page.getByRole('button', { name: 'Set floor' }));
  assert.is((await api.get('/api/functions/web', adminToken)).body.function.minInstances, 0);

  const start = async (version: string, percent: string) => {
    const form = page.locator('form', { has: page.getByRole('button', { name: 'Start canary' }) });
    await form.getByLabel('Version').fill(version);
    await form.getByLabel('Share (%)').fill(percent);
    await form.getByLabel('Window').fill('1m');
    await submit(form.getByRole('button', { name: 'Start canary' }));
  };
  await start('2', '10');
  assert.match(await page.getByRole('status').first().innerText(), /Canary started: v2 gets 10% of calls until /);
  assert.match(await page.locator('#canary [data-canary-open]').innerText(), /v2 against v1:\s+running\s+10% of live's calls/);
  assert.match(await page.locator('#aliases tr[data-alias="live"]').innerText(), /v1 90%, v2 10%/);
  await submit(page.locator('#canary').getByRole('button', { name: 'Abort' }));
  assert.match(await page.getByRole('status').first().innerText(), /Canary aborted: live is v1 again\./);
  await start('2', '20');
  await submit(page.locator('#canary').getByRole('button', { name: 'Promote now' }));
  assert.match(await page.getByRole('status').first().innerText(), /Canary promoted: v2 is active\./);
  assert.match(await page.locator('#canaries').innerText(), /v2\s+v1\s+20%\s+promoted[\s\S]*v2\s+v1\s+10%\s+aborted/);

  // A version that fails every call, given half of the calls: rolled back on its own, the page says why.
  await upload('web', readFileSync((await fnArtifact(`() => { throw new Error('v3 is broken'); }`)).path));
  assert.is((await api.post('/api/functions/web/rollback', { version: 2 }, adminToken)).status, 200);
  await page.reload();
  await start('3', '50');
  for (let i = 0; i < 80 && (await api.get('/api/functions/web/canaries', adminToken)).body.canaries[0].state === 'running'; i++) {
    await Promise.all(Array.from({ length: 5 }, () => api.post('/api/functions/web/invoke', {}, adminToken)));
  }
  await until('the canary rolled back', async () => (await api.get('/api/functions/web/canaries', adminToken)).body.canaries[0].state === 'rolled_back', 10_000);
  await page.reload();
  assert.match(await page.locator('#canaries tr[data-canary="3"]').innerText(), /v3\s+v2\s+50%\s+rolled back[\s\S]*error rate is higher/);
  await shot('canary');
  assert.is((await api.get('/api/functions/web', adminToken)).body.function.activeVersion, 2);
  assert.is((await api.post('/api/functions/web/rollback', { version: 1 }, adminToken)).status, 200);
});

s('the fleet page (admin): drain and undrain a node', async () => {
  await page.goto(`${server.url}/ui/fleet`);
  const nodes = page.locator('#nodes');
  assert.match(await nodes.innerText(), /up/);
  assert.match(await nodes.innerText(), /enforced\s+node(, python)?\s/, 'the runtimes each node runs');
  await shot('fleet');
  await submit(nodes.getByRole('button', { name: /^Drain / }));
  assert.match(await page.getByRole('status').innerText(), /: drain(ed|ing)/);
  const status = (await api.get('/api/nodes', adminToken)).body.nodes[0].status;
  assert.ok(['draining', 'drained'].includes(status), `the node is ${status}`);
  await submit(page.locator('#nodes').getByRole('button', { name: /^Undrain / }));
  assert.is((await api.get('/api/nodes', adminToken)).body.nodes[0].status, 'up');
});

s('another user’s function is a 404; a form without a valid CSRF token is refused (403)', async () => {
  const res = await page.goto(`${server.url}/ui/functions/theirs`);
  assert.is(res!.status(), 404);
  assert.match(await page.locator('h1').innerText(), /Not found/);
  assert.is((await page.request.get(`${server.url}/ui/functions/theirs/versions/1/log`)).status(), 404);
  const none = await page.request.post(`${server.url}/ui/functions`, { form: { name: 'sneaky', auth: 'public' }, maxRedirects: 0 });
  assert.is(none.status(), 403);
  assert.match(none.headers()['content-type'] ?? '', /text\/html/, 'a page saying why, not JSON');
  assert.match(await none.text(), /CSRF token/);
  assert.match(none.headers()['content-security-policy'] ?? '', /default-src 'self'; script-src 'self'/, 'error pages keep the strict CSP');
  const wrong = await page.request.post(`${server.url}/ui/functions`, { form: { name: 'sneaky', auth: 'public', _csrf: 'x'.repeat(32) }, maxRedirects: 0 });
  assert.is(wrong.status(), 403);
  assert.is((await api.get('/api/functions/sneaky', adminToken)).status, 404, 'nothing was created');
  const fleetAsUser = await browser.newPage();
  await fleetAsUser.goto(`${server.url}/ui/login`);
  await fleetAsUser.getByLabel('Email').fill('other@example.com');
  await fleetAsUser.getByLabel('Password').fill('other-password-1');
  await fleetAsUser.getByRole('button', { name: 'Log in' }).click();
  await fleetAsUser.waitForURL(/\/ui\/functions$/);
  assert.is((await fleetAsUser.goto(`${server.url}/ui/fleet`))!.status(), 404, 'the fleet is for admins');
  await fleetAsUser.close();
});

s('register (registration is open): a new account lands on an empty functions list', async () => {
  const fresh = await browser.newPage();
  await fresh.goto(`${server.url}/ui/login`);
  await fresh.getByRole('link', { name: 'Create an account' }).click();
  await fresh.getByLabel('Email').fill('new@example.com');
  await fresh.getByLabel('Password').fill('new-password-1');
  await fresh.getByRole('button', { name: 'Create account' }).click();
  await fresh.waitForURL(/\/ui\/functions$/);
  assert.match(await fresh.locator('main').innerText(), /No functions yet/);
  assert.is(await fresh.getByRole('link', { name: 'Fleet' }).count(), 0, 'no fleet link for a user');
  await fresh.close();
});

s('a function’s page cannot reach the dashboard: its cookies are dropped and it runs sandboxed', async () => {
  assert.is((await api.post('/api/functions', { name: 'evil', auth: 'public' }, adminToken)).status, 201);
  const html = `() => new Response('<script>fetch("/ui/account")</script>', { headers: { 'content-type': 'text/html', 'set-cookie': 'cpub_at=stolen; Path=/' } })`;
  await upload('evil', readFileSync((await fnArtifact(html)).path));
  const handle = (await api.get('/api/users/me', adminToken)).body.handle;
  const res = await fetch(`${server.url}/fn/${handle}/evil`);
  assert.is(res.status, 200);
  assert.is(res.headers.get('set-cookie'), null, 'a function cannot set a cookie on the dashboard’s origin');
  assert.match(res.headers.get('content-security-policy') ?? '', /^sandbox /);
  assert.not.match(res.headers.get('content-security-policy') ?? '', /allow-same-origin/);
});

s('alerts: a security alert raises a banner on every page; the alerts page lists it, and silencing it clears the banner', async () => {
  for (let i = 0; i < 7; i++) await api.post('/api/auth/login', { email: 'nobody@example.com', password: 'wrong-password-x' });
  await until(
    'the banner',
    async () => {
      await page.goto(`${server.url}/ui/functions`);
      return (await page.locator('#alert-banner').count()) > 0 && (await page.locator('#alert-banner').innerText()).includes('logins throttled');
    },
    20_000,
    500,
  );
  const banner = await page.locator('#alert-banner').innerText();
  assert.match(banner, /\d+ alerts? firing: .*logins throttled after repeated failures \(account nobody@example\.com\)/, banner);
  await page.locator('#alert-banner a').click();
  await page.waitForURL(/\/ui\/alerts$/);
  // The team's view: its own functions' alerts (earlier cases left a failing canary and dead letters), not the fleet's.
  assert.match(await page.locator('#alerts-open').innerText(), /dead-lettered/);
  assert.not.match(await page.locator('#alerts-open').innerText(), /Logins throttled/);
  await page.getByRole('link', { name: 'Fleet view' }).click();
  await page.waitForURL(/\/ui\/alerts\?fleet=1$/);
  assert.match(await page.locator('#alerts-open').innerText(), /Logins throttled/);
  assert.match(await page.locator('#alert-rules').innerText(), /builtin:error-rate/);
  await shot('alerts');
  await page.getByRole('button', { name: 'Silence Logins throttled for an hour' }).click();
  await page.waitForURL(/\/ui\/alerts\?fleet=1$/);
  assert.match(await page.locator('#alerts-open').innerText(), /silenced/);
  assert.match(await page.locator('#alert-silences').innerText(), /rule=builtin:login-throttled/);
  assert.not.match(await page.locator('#alert-banner').innerText(), /logins throttled/, 'a silenced alert leaves the banner');
});

s('a narrow window: the pages still fit, with the main navigation reachable', async () => {
  await page.setViewportSize({ width: 380, height: 800 });
  await page.goto(`${server.url}/ui/functions/web`);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `the page scrolls sideways by ${overflow}px`);
  assert.ok(await page.getByRole('link', { name: 'Account' }).isVisible());
  await shot('function-page-narrow');
  await page.setViewportSize({ width: 1200, height: 900 });
});

s('account: a password change ends every session; the new password logs in', async () => {
  await page.goto(`${server.url}/ui/account`);
  await page.getByLabel('Current password').fill('admin-password-1');
  await page.getByLabel('New password').fill('admin-password-2');
  await page.getByRole('button', { name: 'Change password' }).click();
  await page.waitForURL(/\/ui\/login/);
  assert.is((await api.get('/api/users/me', adminToken)).status, 401, 'the API session ended too');
  await page.getByLabel('Email').fill('admin@example.com');
  await page.getByLabel('Password').fill('admin-password-2');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL(/\/ui\/account$/);
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.waitForURL(/\/ui\/login$/);
  await page.goto(`${server.url}/ui/functions`);
  assert.match(page.url(), /\/ui\/login/);
});

s.run();
