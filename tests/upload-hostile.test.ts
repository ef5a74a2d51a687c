// Hostile uploads against the real server: each is answered quickly with a 4xx that says why, and while they
// run `/health` keeps answering within 100 ms at the 99th percentile (nothing holds the event loop).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { request as httpRequest } from 'node:http';
import { createGzip } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, type RunningServer } from './helpers/server.js';
import { client } from './helpers/http.js';
import { loud } from './helpers/hooks.js';
import { BASIC, manyFolders } from './helpers/hostile-artifacts.js';
import { rawTarGz } from './helpers/raw-tar.js';

const s = suite('hostile uploads');
let server: RunningServer;
let token: string;
let fnUrl: string;

/** A valid archive followed by `mib` MiB of zeros (or zeros with a few random bytes in every MiB), gzip-compressed. */
async function bombAfterEnd(mib: number, sprinkle = false): Promise<Buffer> {
  const tar = rawTarGz([BASIC.manifest, BASIC.entry]);
  const { gunzipSync } = await import('node:zlib');
  const gz = createGzip({ level: 9 });
  const out: Buffer[] = [];
  gz.on('data', (d: Buffer) => out.push(d));
  const done = new Promise((r) => gz.on('end', r));
  gz.write(gunzipSync(tar));
  const zeros = Buffer.alloc(2 ** 20);
  for (let i = 0; i < mib; i++) {
    if (!gz.write(sprinkle ? Buffer.concat([zeros.subarray(16), randomBytes(16)]) : zeros)) await new Promise((r) => gz.once('drain', r));
  }
  gz.end();
  await done;
  return Buffer.concat(out);
}

interface Answer {
  status: number;
  code?: string;
  detail?: string;
  ms: number;
  connection?: string;
}

/** POSTs bytes as an upload; with `drip`, one byte every `drip` ms; with `declared`, that Content-Length. */
function upload(bytes: Buffer, opts: { drip?: number; declared?: number; stopAfter?: number } = {}): Promise<Answer> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${fnUrl}/deployments`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/gzip', 'content-length': String(opts.declared ?? bytes.length) },
    });
    let timer: NodeJS.Timeout | undefined;
    req.on('response', (res) => {
      clearInterval(timer);
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => {
        const body = text ? (JSON.parse(text) as { code?: string; detail?: string }) : {};
        resolve({ status: res.statusCode ?? 0, code: body.code, detail: body.detail, ms: Date.now() - t0, connection: res.headers.connection });
        req.destroy();
      });
    });
    req.on('error', (err) => (/ECONNRESET|EPIPE/.test(String(err)) ? undefined : reject(err)));
    if (opts.drip) {
      let i = 0;
      timer = setInterval(() => (i < bytes.length ? req.write(bytes.subarray(i, ++i)) : clearInterval(timer)), opts.drip);
    } else if (opts.stopAfter !== undefined) req.write(bytes.subarray(0, opts.stopAfter));
    else req.end(bytes);
  });
}

s.before(
  loud(async () => {
    server = await startServer({ CPUB_UPLOAD_IDLE_TIMEOUT: '1s', CPUB_UPLOAD_TIMEOUT: '4s', CPUB_BUILD_AGENT_WAIT: '1s' });
    const api = client(server.url);
    await api.post('/api/auth/register', { email: 'h@example.com', password: 'password-for-tests-1' });
    token = (await api.post('/api/auth/login', { email: 'h@example.com', password: 'password-for-tests-1' })).body.accessToken;
    assert.is((await api.post('/api/functions', { name: 'h' }, token)).status, 201);
    fnUrl = `${server.url}/api/functions/h`;
  }),
);
s.after(loud(async () => server?.stop()));

s('hostile uploads are each answered within 2 s, and /health within 100 ms p99 all along', async () => {
  const cases: [string, Buffer, number, string][] = [
    ['32 MiB of zeros after the end (≈32 KB)', await bombAfterEnd(32), 400, 'artifact_bad_archive'],
    ['1 GiB of zeros after the end (≈1 MB)', await bombAfterEnd(1024), 400, 'artifact_bad_archive'],
    ['zeros with random bytes in every MiB', await bombAfterEnd(64, true), 400, 'artifact_bad_archive'],
    ['100,000 empty folders', manyFolders(100_000), 413, 'artifact_too_many_files'],
  ];
  const health: number[] = [];
  let running = true;
  const poll = (async () => {
    while (running) {
      const t = performance.now();
      const r = await fetch(`${server.url}/health`);
      await r.arrayBuffer();
      health.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  try {
    // All at once, in three rounds back to back: a few seconds of hostile load, so the p99 of /health rests on a
    // few hundred answers rather than on the slowest of a few dozen.
    const answers: { what: string; status: number; code: string; got: Answer }[] = [];
    for (let round = 0; round < 3; round++) {
      answers.push(...(await Promise.all(cases.map(async ([what, bytes, status, code]) => ({ what, status, code, got: await upload(bytes) })))));
    }
    console.log(answers.map((a) => `${a.what}: ${a.got.status} in ${a.got.ms} ms`).join('\n'));
    for (const a of answers) {
      assert.is(a.got.status, a.status, `${a.what}: ${JSON.stringify(a.got)}`);
      assert.is(a.got.code, a.code, a.what);
      assert.ok(a.got.ms < 2000, `${a.what} answered in ${a.got.ms} ms`);
    }
  } finally {
    running = false;
    await poll;
  }
  health.sort((a, b) => a - b);
  const p99 = health[Math.floor(health.length * 0.99)]!;
  console.log(`/health: ${health.length} answers, median ${health[health.length >> 1]!.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${health.at(-1)!.toFixed(1)} ms`);
  assert.ok(health.length >= 20, `only ${health.length} /health answers`);
  assert.ok(p99 < 100, `/health p99 ${p99.toFixed(1)} ms over ${health.length} requests`);
  assert.equal(readdirSync(join(server.dataDir, 'artifacts', 'staging')), []);
});

s('a declared Content-Length over the cap is a 413 before the body is sent, with Connection: close', async () => {
  const r = await upload(Buffer.from('x'), { declared: 2 ** 40, stopAfter: 1 });
  assert.is(r.status, 413);
  assert.is(r.code, 'artifact_too_large');
  assert.is(r.connection, 'close');
  assert.ok(r.ms < 2000, `${r.ms} ms`);
});

s('an upload that stops sending is a 408 after the idle timeout', async () => {
  const good = rawTarGz([BASIC.manifest, BASIC.entry]);
  const r = await upload(good, { stopAfter: 10 });
  assert.is(r.status, 408, JSON.stringify(r));
  assert.is(r.code, 'upload_timeout');
  assert.match(r.detail ?? '', 'sent nothing');
  assert.is(r.connection, 'close');
});

s('an upload dripped a byte at a time is a 408 at the total deadline', async () => {
  const good = rawTarGz([BASIC.manifest, BASIC.entry, { name: 'pad.txt', content: randomBytes(4096).toString('hex') }]);
  const r = await upload(good, { drip: 200 });
  assert.is(r.status, 408, JSON.stringify(r));
  assert.match(r.detail ?? '', 'did not finish within 4000 ms');
  assert.ok(r.ms < 6000, `${r.ms} ms`);
});

s.run();
