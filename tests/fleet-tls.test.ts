// gRPC between the control plane and an agent over TLS: the agent serves with its certificate and says so when
// joining; the server dials it only over TLS, checked against CPUB_AGENT_CA — a server that cannot check the
// certificate never shows the node up. Plaintext and credential-less calls to the agent are refused.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { startServer, startAgentProcess, agentBin, cleanEnv, type RunningServer } from './helpers/server.js';
import { client } from './helpers/http.js';
import { loud } from './helpers/hooks.js';
import { createAgentClient } from '../proto/loader.js';
import { sendCredential } from '../proto/auth.js';

const s = suite('fleet: agents over TLS');
const JOIN = 'join-token-for-tls-tests-0123456789';
const running: RunningServer[] = [];
const dirs: string[] = [];
let certDir: string;
let cert: string;
let key: string;

const tempDir = (prefix: string) => {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
};

async function admin(server: RunningServer) {
  const api = client(server.url);
  await api.post('/api/auth/register', { email: 'root@example.com', password: 'root-password-1' });
  const token = (await api.post('/api/auth/login', { email: 'root@example.com', password: 'root-password-1' })).body.accessToken as string;
  return { nodes: async () => (await api.get<{ nodes: { id: string; status: string; tls: boolean }[] }>('/api/nodes', token)).body.nodes };
}

const agentEnv = (server: RunningServer, dataDir: string) => ({
  CPUB_AGENT_DATA_DIR: dataDir,
  CPUB_AGENT_SERVER: server.url,
  CPUB_AGENT_JOIN_TOKEN: JOIN,
  CPUB_AGENT_TLS_CERT: cert,
  CPUB_AGENT_TLS_KEY: key,
  CPUB_AGENT_STEM_CELLS: '0',
});

function info(address: string, creds: grpc.ChannelCredentials, credential?: string): Promise<{ code: number; nodeId?: string }> {
  const c = createAgentClient(address, creds, credential ? { interceptors: [sendCredential(credential)] } : {});
  return new Promise((resolve) =>
    c.Info({}, { deadline: Date.now() + 3000 }, (err, r) => {
      c.close();
      resolve(err ? { code: err.code } : { code: 0, nodeId: r!.nodeId });
    }),
  );
}

s.before(
  loud(() => {
    certDir = tempDir('cpub-tls-');
    cert = join(certDir, 'agent.pem');
    key = join(certDir, 'agent.key');
    const gen = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=cpub-agent', '-addext', 'subjectAltName=IP:127.0.0.1'], { encoding: 'utf8' });
    assert.is(gen.status, 0, gen.stderr);
  }),
);

s.after(
  loud(async () => {
    for (const r of running.reverse()) await r.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }),
);

s('an agent with a certificate joins; the server dials it over TLS checked against CPUB_AGENT_CA', async () => {
  const server = await startServer({ CPUB_JOIN_TOKEN: JOIN, CPUB_AGENT_CA: cert });
  running.push(server);
  const api = await admin(server);
  const dataDir = tempDir('cpub-tls-agent-');
  // The flags this time (the next test uses the environment): the documented command line works.
  const { CPUB_AGENT_TLS_CERT: _c, CPUB_AGENT_TLS_KEY: _k, CPUB_AGENT_STEM_CELLS: _s, ...rest } = agentEnv(server, dataDir);
  const agent = await startAgentProcess(rest, { args: ['--tls-cert', cert, '--tls-key', key, '--stem-cells', '0'] });
  running.push(agent);
  let nodes = await api.nodes();
  for (const end = Date.now() + 15_000; nodes[0]?.status !== 'up' && Date.now() < end; nodes = await api.nodes()) await new Promise((r) => setTimeout(r, 200));
  assert.is(nodes[0]?.status, 'up', JSON.stringify(nodes));
  assert.is(nodes[0]?.tls, true);

  const credential = readFileSync(join(dataDir, 'node-credential'), 'utf8').trim();
  const tls = grpc.credentials.createSsl(readFileSync(cert));
  assert.equal(await info(agent.url, tls, credential), { code: 0, nodeId: nodes[0]!.id });
  assert.is((await info(agent.url, tls)).code, grpc.status.UNAUTHENTICATED, 'TLS alone is not enough: the credential is still required');
  assert.is((await info(agent.url, grpc.credentials.createInsecure(), credential)).code, grpc.status.UNAVAILABLE, 'no plaintext');

  // `cpub-agent status` on the host goes through the agent's owner-only unix socket.
  const st = spawnSync(process.execPath, [agentBin, 'status', '--data-dir', dataDir], { encoding: 'utf8', env: cleanEnv() });
  assert.is(st.status, 0, st.stderr);
  assert.match(st.stdout, nodes[0]!.id);
});

s('a server that cannot check the agent’s certificate never shows the node up', async () => {
  const server = await startServer({ CPUB_JOIN_TOKEN: JOIN });
  running.push(server);
  const api = await admin(server);
  const agent = await startAgentProcess(agentEnv(server, tempDir('cpub-tls-agent-')));
  running.push(agent);
  const end = Date.now() + 5000;
  let nodes = await api.nodes();
  while (Date.now() < end) {
    assert.is.not(nodes[0]?.status, 'up', 'an unverified agent must not be used');
    await new Promise((r) => setTimeout(r, 250));
    nodes = await api.nodes();
  }
  assert.is(nodes.length, 1, 'it did join');
  assert.match(server.output(), /certificate|self.signed|self-signed/i);
});

s.run();
