// Uploads through the API, no agent needed: every refusal is a 4xx naming what is wrong with nothing left in
// staging; a 2xx deploy survives kill -9 of the server (artifact fsynced and renamed before the version row).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, type RunningServer } from './helpers/server.js';
import { client, type Client } from './helpers/http.js';
import { loud } from './helpers/hooks.js';
import { rawTarGz } from './helpers/raw-tar.js';
import { BASIC, refused } from './helpers/hostile-artifacts.js';

const s = suite('deploy uploads');
let server: RunningServer;
let api: Client;
let token: string;

const post = async (bytes: Buffer, type = 'application/gzip', query = '', fn = 'up') => {
  const res = await fetch(`${server.url}/api/functions/${fn}/deployments${query}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': type }, body: new Uint8Array(bytes) });
  return { status: res.status, body: (await res.json()) as { code: string; detail: string; entry?: string; deployment?: { version: number; digest: string; status: string } } };
};
const staging = () => readdirSync(join(server.dataDir, 'artifacts', 'staging'));

async function boot(dataDir?: string) {
  server = await startServer({ CPUB_ARTIFACT_MAX_BYTES: String(64 * 1024), CPUB_BUILD_AGENT_WAIT: '1s', ...(dataDir ? { CPUB_DATA_DIR: dataDir } : {}) });
  api = client(server.url);
}

s.before(
  loud(async () => {
    await boot();
    await api.post('/api/auth/register', { email: 'up@example.com', password: 'password-for-tests-1' });
    token = (await api.post('/api/auth/login', { email: 'up@example.com', password: 'password-for-tests-1' })).body.accessToken;
    assert.is((await api.post('/api/functions', { name: 'up' }, token)).status, 201);
  }),
);

let firstDataDir: string | undefined;
s.after(
  loud(async () => {
    await server?.stop();
    if (firstDataDir) rmSync(firstDataDir, { recursive: true, force: true });
  }),
);

for (const [what, bytes, code, offending] of refused) {
  s(`refused upload: ${what} → 400 artifact_${code}, nothing staged`, async () => {
    const r = await post(bytes);
    assert.is(r.status, 400, JSON.stringify(r.body));
    assert.is(r.body.code, `artifact_${code}`);
    if (offending) assert.match(r.body.detail, offending);
    assert.equal(staging(), []);
  });
}

s('with ?wait=true a build that fails (no agent here) is a 422 problem with the build log’s tail', async () => {
  assert.is((await api.post('/api/functions', { name: 'fails' }, token)).status, 201);
  const r = await post(rawTarGz([BASIC.manifest, BASIC.entry]), 'application/gzip', '?wait=true', 'fails');
  assert.is(r.status, 422, JSON.stringify(r.body));
  const p = r.body as unknown as { code: string; status: number; buildLogTail: string; deployment: { status: string; active: boolean } };
  assert.equal([p.code, p.status, p.deployment.status, p.deployment.active], ['build_failed', 422, 'failed', false]);
  assert.match(p.buildLogTail, 'build failed: no agent is up to build on');
  const fn = await api.get('/api/functions/fails', token);
  assert.is(fn.body.function.activeVersion, null, 'a failed build activates nothing');
});

s('an archive over the size cap is a 413 while it streams, nothing staged', async () => {
  const big = rawTarGz([BASIC.manifest, BASIC.entry, { name: 'noise.bin', content: randomBytes(200 * 1024).toString('base64') }]);
  const r = await post(big);
  assert.is(r.status, 413);
  assert.is(r.body.code, 'artifact_too_large');
  assert.equal(staging(), []);
  // The same as a multipart field (with more after it): the client still reads its 413, and nothing is staged.
  const form = new FormData();
  form.append('archive', new Blob([new Uint8Array(big)]), 'big.tar.gz');
  form.append('after', new Blob([randomBytes(512 * 1024)]), 'after.bin');
  const res = await fetch(`${server.url}/api/functions/up/deployments`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form });
  assert.is(res.status, 413);
  assert.is(((await res.json()) as { code: string }).code, 'artifact_too_large');
  assert.equal(staging(), []);
  const unknown = new FormData();
  unknown.append('archive', new Blob([new Uint8Array(big)]), 'big.tar.gz');
  const nf = await fetch(`${server.url}/api/functions/nope/deployments`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: unknown });
  assert.is(nf.status, 404, 'an unknown function: a 404 the client reads');
});

s('other bodies: empty, the wrong type, multipart without the field', async () => {
  assert.is((await post(Buffer.alloc(0))).body.code, 'artifact_empty');
  assert.is((await post(Buffer.from('x'), 'text/plain')).status, 400);
  const form = new FormData();
  form.append('other', new Blob([new Uint8Array(rawTarGz([BASIC.manifest, BASIC.entry]))]), 'a.tar.gz');
  const res = await fetch(`${server.url}/api/functions/up/deployments`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form });
  assert.is(res.status, 400);
  assert.is(((await res.json()) as { code: string }).code, 'artifact_missing');
  assert.equal(staging(), []);
});

s('a multipart upload is accepted (202, building); two at once get two versions', async () => {
  const send = () => {
    const form = new FormData();
    form.append('archive', new Blob([new Uint8Array(rawTarGz([BASIC.manifest, BASIC.entry]))]), 'a.tar.gz');
    return fetch(`${server.url}/api/functions/up/deployments`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form });
  };
  const [a, b] = await Promise.all([send(), send()]);
  assert.equal([a.status, b.status], [202, 202]);
  const versions = [((await a.json()) as any).deployment.version, ((await b.json()) as any).deployment.version].sort();
  assert.equal(versions, [1, 2]);
});

s('kill -9 right after a 2xx deploy, then a restart: the version and its artifact are there', async () => {
  const r = await post(rawTarGz([BASIC.manifest, { name: 'index.mjs', content: 'export default () => "kept"' }]));
  assert.is(r.status, 202);
  const { version, digest } = r.body.deployment!;
  const dataDir = server.dataDir;
  firstDataDir = dataDir;
  server.proc.kill('SIGKILL');
  await new Promise((res) => server.proc.once('exit', res));
  await boot(dataDir);
  const d = await api.get(`/api/functions/up/deployments/${version}`, token);
  assert.is(d.status, 200);
  assert.is(d.body.deployment.digest, digest);
  assert.ok(existsSync(join(dataDir, 'artifacts', 'sha256', digest)));
});

s.run();
