// Python functions end to end, as a new user makes them: `cpub init --template python`, `cpub deploy`, `cpub invoke`,
// against a real cpub-server and cpub-agent (Podman; the Python runtime image assembled from this host's Python).
// Dependencies in requirements.txt are vendored at deploy time with pip, wheels only — here from a local wheel folder
// (PIP_NO_INDEX, PIP_FIND_LINKS: no index is reachable); a package with no wheel is named. A Python function streams
// Server-Sent Events through its URL like a Node one.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { get } from 'node:http';
import { startServer, startAgentProcess, cleanEnv, repoRoot, type RunningServer } from './helpers/server.js';
import { client, type Client } from './helpers/http.js';
import { loud, until } from './helpers/hooks.js';

const s = suite('python functions: init, deploy (vendoring), invoke, stream');
const JOIN = 'join-token-for-python-0123456789ab';
const cpubBin = join(repoRoot, 'bin', 'cpub.js');

let server: RunningServer;
let agent: RunningServer;
let api: Client;
let token: string;
let handle: string;
let work: string;
let wheels: string;

function cpub(args: string[], cwd: string) {
  return spawnSync(process.execPath, [cpubBin, ...args], { cwd, encoding: 'utf8', timeout: 300_000, env: cleanEnv({ HOME: work, CPUB_SERVER: server.url, CPUB_TOKEN: token, PIP_NO_INDEX: '1', PIP_FIND_LINKS: wheels, PIP_DISABLE_PIP_VERSION_CHECK: '1' }) });
}

/** A pure-Python wheel of one module, `tinygreet`, made by hand (no index is reachable here). */
function makeWheel(dir: string): void {
  const script = `
import zipfile, sys
files = {
  "tinygreet/__init__.py": "def greet(name):\\n    return 'Hi ' + name + ' from a vendored package'\\n",
  "tinygreet-1.0.dist-info/METADATA": "Metadata-Version: 2.1\\nName: tinygreet\\nVersion: 1.0\\n",
  "tinygreet-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\\nGenerator: hand\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n",
}
record = "".join(f"{k},,\\n" for k in files) + "tinygreet-1.0.dist-info/RECORD,,\\n"
with zipfile.ZipFile(sys.argv[1] + "/tinygreet-1.0-py3-none-any.whl", "w") as z:
    for k, v in files.items():
        z.writestr(k, v)
    z.writestr("tinygreet-1.0.dist-info/RECORD", record)
`;
  const r = spawnSync('python3', ['-c', script, dir], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  // A source distribution only: what a package that needs compiling looks like to pip with --only-binary.
  writeFileSync(join(dir, 'needscompiling-1.0.tar.gz'), Buffer.alloc(0));
}

s.before(
  loud(async () => {
    work = mkdtempSync(join(tmpdir(), 'cpub-python-'));
    wheels = join(work, 'wheels');
    mkdirSync(wheels);
    makeWheel(wheels);
    server = await startServer({ CPUB_JOIN_TOKEN: JOIN });
    api = client(server.url);
    await api.post('/api/auth/register', { email: 'py@example.com', password: 'python-password-1' });
    token = (await api.post('/api/auth/login', { email: 'py@example.com', password: 'python-password-1' })).body.accessToken;
    handle = (await api.get('/api/users/me', token)).body.handle;
    agent = await startAgentProcess({ CPUB_AGENT_DATA_DIR: join(work, 'agent'), CPUB_AGENT_SERVER: server.url, CPUB_AGENT_JOIN_TOKEN: JOIN });
    await until('the node up', async () => (await api.get<{ nodes: { status: string }[] }>('/api/nodes', token)).body.nodes[0]?.status === 'up', 30_000);
  }),
);

s.after(
  loud(async () => {
    await agent?.stop();
    await server?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  }),
);

s('cpub init --template python, cpub deploy and cpub invoke: a new user’s first Python function', async () => {
  const init = cpub(['init', 'greeter', '--template', 'python'], work);
  assert.is(init.status, 0, init.stderr);
  const dir = join(work, 'greeter');
  assert.equal(JSON.parse(readFileSync(join(dir, 'containerpub.json'), 'utf8')).runtime, 'python');
  const check = cpub(['check'], dir);
  assert.is(check.status, 0, check.stdout + check.stderr);
  const deploy = cpub(['deploy'], dir);
  assert.is(deploy.status, 0, deploy.stdout + deploy.stderr);
  const invoke = cpub(['invoke', 'greeter', '--path', '/?name=Ada', '-v'], dir);
  assert.is(invoke.status, 0, invoke.stderr);
  assert.is(invoke.stdout, 'Hello, Ada!\n');
  assert.match(invoke.stderr, /^status: 200$/m);
  assert.match(invoke.stderr, /^duration: \d+ ms/m);
  // Its record and log, as any call's.
  const list = await api.get<{ executions: { status: string; coldStart: boolean }[] }>('/api/functions/greeter/executions?limit=5', token);
  assert.is(list.body.executions[0]?.status, 'success');
  const logs = await api.get<{ lines: { message: string }[] }>('/api/functions/greeter/logs', token);
  assert.ok(logs.body.lines.some((l) => l.message === 'greeting Ada'), JSON.stringify(logs.body.lines));
});

s('requirements.txt is vendored at deploy time (wheels only); a package without a wheel is named', async () => {
  const dir = join(work, 'vendored');
  assert.is(cpub(['init', 'vendored', '--template', 'python'], work).status, 0);
  writeFileSync(join(dir, 'requirements.txt'), 'tinygreet==1.0\n');
  writeFileSync(join(dir, 'handler.py'), 'import tinygreet\n\n\ndef handler(request, ctx):\n    return tinygreet.greet("Ada")\n');
  const deploy = cpub(['deploy'], dir);
  assert.is(deploy.status, 0, deploy.stdout + deploy.stderr);
  const invoke = cpub(['invoke', 'vendored'], dir);
  assert.is(invoke.stdout.trim(), 'Hi Ada from a vendored package', invoke.stderr);
  writeFileSync(join(dir, 'requirements.txt'), 'tinygreet==1.0\nneedscompiling==1.0\n');
  const refused = cpub(['deploy'], dir);
  assert.is.not(refused.status, 0);
  assert.match(refused.stderr, /needscompiling==1\.0 has no pure-Python wheel/);
  // A handler file that does not parse, or defines no handler, is refused before anything is uploaded.
  writeFileSync(join(dir, 'requirements.txt'), '');
  writeFileSync(join(dir, 'handler.py'), 'def nothing(:\n');
  assert.match(cpub(['deploy'], dir).stderr, /handler\.py does not parse: line 1/);
  writeFileSync(join(dir, 'handler.py'), 'def other(request, ctx):\n    return 1\n');
  assert.match(cpub(['deploy'], dir).stderr, /defines neither handler\(request, ctx\) nor an ASGI app/);
});

s('a Python function streams Server-Sent Events: the first event arrives before it finishes', async () => {
  const dir = join(work, 'ticker');
  assert.is(cpub(['init', 'ticker', '--template', 'python'], work).status, 0);
  writeFileSync(
    join(dir, 'handler.py'),
    'import asyncio\nfrom cpub import Response\n\n\nasync def handler(request, ctx):\n    async def events():\n        for i in range(3):\n            if i:\n                await asyncio.sleep(0.4)\n            yield f"data: tick {i}\\n\\n"\n    return Response(events(), headers={"content-type": "text/event-stream"})\n',
  );
  const cfg = JSON.parse(readFileSync(join(dir, 'containerpub.json'), 'utf8'));
  writeFileSync(join(dir, 'containerpub.json'), JSON.stringify({ ...cfg, auth: 'public' }));
  const deploy = cpub(['deploy'], dir);
  assert.is(deploy.status, 0, deploy.stdout + deploy.stderr);
  const chunks: { at: number; text: string }[] = [];
  const endedAt = await new Promise<number>((resolve, reject) => {
    get(`${server.url}/fn/${handle}/ticker`, (res) => {
      assert.is(res.headers['content-type'], 'text/event-stream');
      res.on('data', (d: Buffer) => chunks.push({ at: performance.now(), text: d.toString('utf8') }));
      res.on('end', () => resolve(performance.now()));
    }).on('error', reject);
  });
  assert.is(chunks.map((c) => c.text).join(''), 'data: tick 0\n\ndata: tick 1\n\ndata: tick 2\n\n');
  assert.ok(endedAt - chunks[0]!.at >= 700, `the first event came ${Math.round(endedAt - chunks[0]!.at)} ms before the end`);
});

s.run();
