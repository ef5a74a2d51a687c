// Packing a function folder: the same content packs to the same digest wherever the folder is and wherever
// it is packed from; a missing entry, a missing default export and a native addon are refused by name.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { packFunction, PackError } from './pack.js';

const s = suite('pack');
const dirs: string[] = [];

function folder(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'cpub-pack-test-'));
  dirs.push(dir);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

const members = async (bytes: Buffer): Promise<string[]> => {
  const { list } = await import('tar');
  const names: string[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'cpub-pack-list-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'a.tgz'), bytes);
  await list({ file: join(dir, 'a.tgz'), onReadEntry: (e) => void names.push(e.path) });
  return names;
};

s.after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const FN = { 'containerpub.json': '{"name":"p","entry":"src/index.ts"}', 'src/index.ts': "import { two } from './two.js';\nexport default () => new Response(String(two));\n", 'src/two.ts': 'export const two = 2;\n' };

s('the same folder packs to the same digest from anywhere, and a change changes it', async () => {
  const a = folder(FN);
  const first = await packFunction(a);
  const cwd = process.cwd();
  try {
    process.chdir(join(a, 'src'));
    assert.is((await packFunction(a)).digest, first.digest, 'packed from another working directory');
  } finally {
    process.chdir(cwd);
  }
  const b = join(folder({}), 'deeper', 'copy');
  cpSync(a, b, { recursive: true });
  assert.is((await packFunction(b)).digest, first.digest, 'a copy elsewhere');
  writeFileSync(join(b, 'src', 'two.ts'), 'export const two = 3;\n');
  assert.is.not((await packFunction(b)).digest, first.digest, 'control: a change shows');
});

const refused = async (dir: string, pattern: RegExp) => {
  try {
    await packFunction(dir);
  } catch (err) {
    assert.instance(err, PackError);
    assert.match((err as Error).message, pattern);
    return;
  }
  assert.unreachable('packed');
};

s('a missing entry, a missing default export, a native addon are refused by name', async () => {
  await refused(folder({ 'containerpub.json': '{"name":"p","entry":"main.ts"}' }), /the entry main\.ts named in containerpub\.json is not in/);
  await refused(folder({ 'containerpub.json': '{"name":"p","entry":"index.ts"}', 'index.ts': 'export const handler = () => 1;\n' }), /index\.ts has no default export/);
  await refused(
    folder({
      'containerpub.json': '{"name":"p","entry":"index.js"}',
      'index.js': "import addon from 'fast-thing';\nexport default () => new Response(String(addon));\n",
      'node_modules/fast-thing/package.json': '{"name":"fast-thing","main":"index.js"}',
      'node_modules/fast-thing/index.js': "module.exports = require('./build/fast.node');\n",
      'node_modules/fast-thing/build/fast.node': '\u007fELF',
    }),
    /a native addon cannot be bundled \(node_modules\/fast-thing\/index\.js:1/,
  );
  await refused(folder({}), /containerpub\.json is missing/);
});

s('an operator runtime packs by its "language", or as the folder’s files; a bad runtime or language name is refused', async () => {
  const files = await packFunction(folder({ 'containerpub.json': '{"name":"r","entry":"main.rb","runtime":"ruby-3"}', 'main.rb': 'puts 1\n', 'lib/x.rb': '', '.git/HEAD': 'x' }));
  assert.equal(await members(files.bytes), ['containerpub.json', 'lib/x.rb', 'main.rb'], 'the files as they are, .git left out');
  assert.is(files.manifest.runtime, 'ruby-3');
  const bundled = await packFunction(folder({ ...FN, 'containerpub.json': '{"name":"p","entry":"src/index.ts","runtime":"node-22","language":"node"}' }));
  assert.equal(await members(bundled.bytes), ['containerpub.json', 'index.mjs', 'index.mjs.map'], 'bundled like any Node function');
  assert.is(bundled.manifest.runtime, 'node-22');
  for (const [manifest, says] of [
    ['{"name":"r","entry":"main.rb","runtime":"Ruby"}', 'a runtime\'s name is 1–32 lowercase'],
    ['{"name":"r","entry":"main.rb","runtime":"ruby","language":"ruby"}', 'names the language "ruby"'],
    ['{"name":"r","entry":"nope.rb","runtime":"ruby"}', 'the entry nope.rb'],
  ] as const) {
    try {
      await packFunction(folder({ 'containerpub.json': manifest, 'main.rb': '' }));
      assert.unreachable(`${manifest} packed`);
    } catch (err) {
      assert.instance(err, PackError);
      assert.ok((err as Error).message.includes(says), (err as Error).message);
    }
  }
});

s.run();
