// `cpub init [name] [--template hello|hono|python]`: scaffolds a function folder.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { basename, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { examples, type Ctx } from '../context.js';
import { CliError } from '../output.js';

const NAME = /^[a-z][a-z0-9-]{0,62}$/;

/** The templates are the repository's examples, so they cannot drift from what is tested. */
const TEMPLATES = { hello: 'hello', hono: 'hono-app', python: 'python-hello' } as const;

function exampleDir(name: string): string {
  // From cli/src/commands in the sources, or dist/cli/src/commands once built.
  for (const up of ['../../..', '../../../..']) {
    const dir = fileURLToPath(new URL(`${up}/examples/${name}/`, import.meta.url));
    if (existsSync(join(dir, 'containerpub.json'))) return dir;
  }
  throw new CliError('templates missing', `the examples/ folder of this installation has no ${name}`);
}

export function initCommand(program: Command, _ctx: Ctx): void {
  examples(
    program
      .command('init [name]')
      .description('scaffold a function folder: entry, containerpub.json, and package.json and tsconfig.json (TypeScript) or requirements.txt (Python), README')
      .option('--template <template>', 'hello (a TypeScript handler), hono (a Hono app) or python (a Python handler)', 'hello'),
    ['cpub init hello', 'cpub init api --template hono', 'cpub init greeter --template python'],
  ).action((nameArg: string | undefined, opts: { template: string }) => {
    if (!(opts.template in TEMPLATES)) throw new CliError('unknown template', `${opts.template}: choose hello, hono or python`, 2);
    const dir = resolve(nameArg ?? '.');
    const name = nameArg ? basename(dir) : basename(process.cwd());
    if (!NAME.test(name)) throw new CliError('invalid name', `${name}: lower-case letters, digits and dashes, starting with a letter (at most 63)`, 2);
    const template = exampleDir(TEMPLATES[opts.template as keyof typeof TEMPLATES]);
    if (opts.template === 'python') return scaffold(dir, name, nameArg, 'python', {
      'handler.py': readFileSync(join(template, 'handler.py'), 'utf8'),
      'containerpub.json': JSON.stringify({ name, entry: 'handler.py', runtime: 'python', memoryMb: 128, timeoutMs: 10_000 }, null, 2) + '\n',
      'requirements.txt': readFileSync(join(template, 'requirements.txt'), 'utf8'),
      'README.md': `# ${name}\n\nA ContainerPub function in Python.\n\n\`\`\`sh\ncpub deploy        # packs the folder (vendoring requirements.txt), uploads, builds; prints the URL\ncpub invoke ${name}\ncpub logs ${name} -f\n\`\`\`\n`,
      '.gitignore': '__pycache__/\nvendor/\n.env*\n',
    });
    const pkg = JSON.parse(readFileSync(join(template, 'package.json'), 'utf8')) as Record<string, unknown>;
    const files: Record<string, string> = {
      'index.ts': readFileSync(join(template, 'index.ts'), 'utf8'),
      'containerpub.json': JSON.stringify({ name, entry: 'index.ts', memoryMb: 128, timeoutMs: 10_000 }, null, 2) + '\n',
      'package.json': JSON.stringify({ ...pkg, name }, null, 2) + '\n',
      'tsconfig.json': readFileSync(join(template, 'tsconfig.json'), 'utf8'),
      'README.md': `# ${name}\n\nA ContainerPub function.\n\n\`\`\`sh\n${opts.template === 'hono' ? 'npm install\n' : ''}cpub deploy        # bundle, upload, build; prints the URL\ncpub invoke ${name}\ncpub logs ${name} -f\n\`\`\`\n`,
      '.gitignore': 'node_modules/\n.env*\n',
    };
    scaffold(dir, name, nameArg, opts.template, files);
  });
}

/** Writes the folder's files — none already there is overwritten: any stops init before it writes one. */
function scaffold(dir: string, name: string, nameArg: string | undefined, template: string, files: Record<string, string>): void {
  const taken = Object.keys(files).filter((f) => existsSync(join(dir, f)));
  if (taken.length) throw new CliError('folder not empty', `${dir} already has ${taken.join(', ')}`);
  mkdirSync(dir, { recursive: true });
  for (const [f, text] of Object.entries(files)) writeFileSync(join(dir, f), text, { flag: 'wx' });
  console.log(`created ${name} in ${dir} (${template} template)`);
  console.log(`next: ${nameArg ? `cd ${nameArg} && ` : ''}${template === 'hono' ? 'npm install && ' : ''}cpub deploy`);
}
