// /openapi.json describes exactly the API the app serves: every route under /api (and /health, /ready) is in the
// document with its method, and every operation in the document is served.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { loadConfig } from '../config.js';
import { createLogger } from '../../../common/logger.js';
import { createControlPlane, type ControlPlane } from '../control-plane.js';

const s = suite('openapi');
let dir: string;
let cp: ControlPlane;

s.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cpub-openapi-'));
  cp = await createControlPlane(loadConfig({ CPUB_DATA_DIR: dir }), createLogger('error', new Writable({ write: (_c, _e, cb) => cb() })));
});

s.after(async () => {
  await cp?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** The API's routes as the app serves them: `METHOD /path/{param}`, middleware and the dashboard left out. */
function served(): Set<string> {
  const out = new Set<string>();
  for (const r of cp.app.routes) {
    if (r.method === 'ALL' || !/^\/(api\/|health$|ready$)/.test(r.path)) continue;
    out.add(`${r.method} ${r.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`);
  }
  return out;
}

async function documented(): Promise<Set<string>> {
  const doc = (await (await cp.app.request('/openapi.json')).json()) as { paths: Record<string, Record<string, unknown>> };
  const out = new Set<string>();
  for (const [path, ops] of Object.entries(doc.paths)) for (const method of Object.keys(ops)) out.add(`${method.toUpperCase()} ${path}`);
  return out;
}

s('every served API route is in /openapi.json, and every documented one is served', async () => {
  const app = served();
  const doc = await documented();
  assert.ok(app.size > 30, `the app serves the API (${app.size} routes)`);
  assert.equal([...app].filter((r) => !doc.has(r)).sort(), [], 'served but not documented');
  assert.equal([...doc].filter((r) => !app.has(r)).sort(), [], 'documented but not served');
});

s('the routes the reshaping moved are documented', async () => {
  const doc = await documented();
  for (const r of [
    'POST /api/functions/{ref}/deployments',
    'GET /api/functions/{ref}/deployments/{version}/logs',
    'GET /api/functions/{ref}/logs',
    'GET /api/functions/{ref}/stats',
    'GET /api/functions/{ref}/stats/hourly',
    'GET /api/functions/{ref}/stats/daily',
    'GET /api/executions/{id}',
    'GET /api/stats/overview',
    'GET /api/stats/overview/hourly',
    'GET /api/stats/overview/daily',
    'POST /api/functions/{ref}/invoke',
  ]) {
    assert.ok(doc.has(r), r);
  }
});

s.run();
