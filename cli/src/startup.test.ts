// `cpub` starts fast: a command that does not bundle, pack or validate a manifest loads neither the bundler nor the
// packer (esbuild, tar) nor the schema library (zod) — together ≈ 150 ms of every run on these machines (0.27 s
// against 0.12 s for `cpub --help`). The modules a run of the CLI resolves are written down by a resolve hook.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const HOOKS = `import { appendFileSync } from 'node:fs';
let file;
export async function initialize(d) { file = d.file; }
export async function resolve(s, c, next) { const r = await next(s, c); appendFileSync(file, r.url + '\\n'); return r; }`;

/** The module URLs a run of `cpub <args>` resolved. */
function loadedBy(args: string[]): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'cpub-startup-'));
  const file = join(dir, 'loaded');
  const probe = `import { register } from 'node:module';
register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(HOOKS)}), { data: { file: ${JSON.stringify(file)} } });
await import(${JSON.stringify(join(root, 'bin/cpub.js'))});`;
  try {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', probe, '--', 'cpub', ...args], { env: { ...process.env, HOME: dir }, encoding: 'utf8', timeout: 30_000 });
    assert.is(r.status, 0, r.stderr);
    return readFileSync(file, 'utf8').split('\n').filter(Boolean);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
const heavy = (urls: string[]) => urls.filter((u) => /\/node_modules\/(zod|tar|esbuild)\//.test(u));

test('--help, and a command that only talks to the server, load no bundler, packer or schema library', () => {
  const help = loadedBy(['--help']);
  assert.ok(help.some((u) => u.includes('/node_modules/commander/')), 'the hook sees what the CLI loads');
  assert.equal(heavy(help), []);
  assert.equal(heavy(loadedBy(['invoke', '--help'])), []);
  assert.equal(heavy(loadedBy(['update', '--help'])), []);
});

test('a command that packs loads them when it runs', () => {
  assert.ok(heavy(loadedBy(['check', join(root, 'examples/hello')])).length > 0);
});

test.run();
