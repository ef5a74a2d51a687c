// The deploy analysis: each file that must never ship and each risky API is reported with its path (and
// line); a clean function has no findings; `cpub check --strict` exits 1 on any finding.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { analyse } from './check.js';

const s = suite('cli analysis');
const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
let dir: string;

function folder(files: Record<string, string>): string {
  dir = mkdtempSync(join(tmpdir(), 'cpub-check-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

s.after.each(() => rmSync(dir, { recursive: true, force: true }));

const CLEAN = {
  'containerpub.json': '{"name":"ok","entry":"index.ts"}',
  'index.ts': "import { helper } from './lib/helper.js';\n// eval( in a comment is fine\nexport default async () => Response.json({ n: helper() });\n",
  'lib/helper.ts': "import { writeFileSync } from 'node:fs';\nexport const helper = () => { writeFileSync('/tmp/cache.json', '{}'); return 1; };\n",
  'node_modules/dep/index.js': "require('child_process').exec('ls');\n",
};

s('a clean function has no findings (node_modules is not the function’s own code)', () => {
  assert.equal(analyse(folder(CLEAN)), []);
});

s('every file that must never ship is reported by path', () => {
  const found = analyse(folder({ ...CLEAN, '.env': 'A=1', '.env.production': 'A=2', 'certs/server.pem': 'x', 'tls.key': 'x', 'id_rsa': 'x', 'id_rsa.pub': 'x', 'credentials-prod.json': '{}', '.git/HEAD': 'ref' }));
  assert.equal(
    found.map((f) => [f.kind, f.path]),
    [
      ['secret-file', '.env'],
      ['secret-file', '.env.production'],
      ['secret-file', '.git/'],
      ['secret-file', 'certs/server.pem'],
      ['secret-file', 'credentials-prod.json'],
      ['secret-file', 'id_rsa'],
      ['secret-file', 'id_rsa.pub'],
      ['secret-file', 'tls.key'],
    ],
  );
});

s('every risky API is reported with file and line', () => {
  const code = [
    "import { exec } from 'node:child_process';", // 1
    'const a = eval("1 + 1");', // 2
    'const f = new Function("return 1");', // 3
    "const b = process.binding('fs');", // 4
    "import net from 'node:net';", // 5
    "import dgram from 'dgram';", // 6
    'const srv = createServer(() => {});', // 7
    "fs.writeFileSync('/etc/passwd', 'x');", // 8
    "await mkdir('/app/data');", // 9
    "writeFileSync('/tmp/ok.txt', 'x');", // 10: fine
    "writeFileSync(join(tmpdir(), 'ok'), 'x');", // 11: fine
    'export default () => new Response(String(a));', // 12
  ].join('\n');
  const found = analyse(folder({ 'containerpub.json': '{"name":"r","entry":"index.mjs"}', 'index.mjs': code }));
  assert.equal(
    found.map((f) => [f.path, f.line, f.what.split(' ')[0]]),
    [
      ['index.mjs', 1, 'child_process'],
      ['index.mjs', 2, 'eval()'],
      ['index.mjs', 3, 'new'],
      ['index.mjs', 4, 'process.binding/dlopen'],
      ['index.mjs', 5, 'raw'],
      ['index.mjs', 6, 'raw'],
      ['index.mjs', 7, 'opens'],
      ['index.mjs', 8, 'writeFileSync()'],
      ['index.mjs', 9, 'mkdir()'],
    ],
  );
});

s('cpub check prints path:line warnings; --strict exits 1; a clean folder passes silently', () => {
  const cpub = (args: string[]) => spawnSync(process.execPath, [join(repoRoot, 'bin', 'cpub.js'), ...args], { encoding: 'utf8', env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1' } });
  const risky = folder({ ...CLEAN, '.env': 'SECRET=1', 'index.ts': "import { execSync } from 'child_process';\nexport default () => new Response(execSync('id'));\n" });
  const loose = cpub(['check', risky]);
  assert.is(loose.status, 0, loose.stderr);
  assert.match(loose.stderr, 'warning: .env  an environment file (.env*) (left out of the bundle)');
  assert.match(loose.stderr, 'warning: index.ts:1  child_process');
  const strict = cpub(['check', risky, '--strict']);
  assert.is(strict.status, 1);
  assert.match(strict.stderr, /error: blocked by --strict — 2 findings above/);
  const deploy = cpub(['deploy', risky, '--strict', '--server', 'http://127.0.0.1:9']);
  assert.is(deploy.status, 1, 'deploy --strict stops before any upload');
  assert.match(deploy.stderr, 'blocked by --strict');
  rmSync(risky, { recursive: true, force: true });
  const clean = cpub(['check', folder(CLEAN), '--strict']);
  assert.is(clean.status, 0, clean.stderr);
  assert.is(clean.stderr, '');
  assert.match(clean.stdout, /^no findings; bundles to [\d.]+ (B|KiB) \([\d.]+ (B|KiB) packed\)\n$/);
});

s.run();
