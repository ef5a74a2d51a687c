// `cpub init [name] [--template hello|hono]`: scaffolds a function folder.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { basename, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { examples, type Ctx } from '../context.js';
import { CliError } from '../output.js';

const NAME = /^[a-z][a-z0-9-]{0,62}$/;

/** The templates are the repository's examples, so they cannot drift from what is tested. */
const TEMPLATES = { hello: 'hello', hono: 'hono-app' } as const;

function exampleDir(name: string): string {
  // From cli/src/commands in the sources, or dist/cli/src/commands once built.
  for (const up of ['../../..', '../../../..']) {
    const dir = fileURLToPath(new URL(`${up}/examples/${name}/`, import.meta.url));
    if (existsSync(join(dir, 'index.ts'))) return dir;
  }
  throw new CliError('templates missing', `the examples/ folder of this installation has no ${name}`);
}

export function initCommand(program: Command, _ctx: Ctx): void {
  examples(
    program
      .command('init [name]')
      .description('scaffold a function folder: entry, containerpub.json, package.json, tsconfig.json, README')
      .option('--template <template>', 'hello (a TypeScript handler) or hono (a Hono app)', 'hello'),
    ['cpub init hello', 'cpub init api --template hono'],
  ).action((nameArg: string | undefined, opts: { template: string }) => {
    if (opts.template !== 'hello' && opts.template !== 'hono') throw new CliError('unknown template', `${opts.template}: choose hello or hono`, 2);
    const dir = resolve(nameArg ?? '.');
    const name = nameArg ? basename(dir) : basename(process.cwd());
    if (!NAME.test(name)) throw new CliError('invalid name', `${name}: lower-case letters, digits and dashes, starting with a letter (at most 63)`, 2);
    const template = exampleDir(TEMPLATES[opts.template as keyof typeof TEMPLATES]);
    const pkg = JSON.parse(readFileSync(join(template, 'package.json'), 'utf8')) as Record<string, unknown>;
    const files: Record<string, string> = {
      'index.ts': readFileSync(join(template, 'index.ts'), 'utf8'),
      'containerpub.json': JSON.stringify({ name, entry: 'index.ts', memoryMb: 128, timeoutMs: 10_000 }, null, 2) + '\n',
      'package.json': JSON.stringify({ ...pkg, name }, null, 2) + '\n',
      'tsconfig.json': readFileSync(join(template, 'tsconfig.json'), 'utf8'),
      'README.md': `# ${name}\n\nA ContainerPub function.\n\n\`\`\`sh\n${opts.template === 'hono' ? 'npm install\n' : ''}cpub deploy        # bundle, upload, build; prints the URL\ncpub invoke ${name}\ncpub logs ${name} -f\n\`\`\`\n`,
      '.gitignore': 'node_modules/\n.env*\n',
    };
    // Nothing of the folder is overwritten: any file already there stops init before it writes one.
    const taken = Object.keys(files).filter((f) => existsSync(join(dir, f)));
    if (taken.length) throw new CliError('folder not empty', `${dir} already has ${taken.join(', ')}`);
    mkdirSync(dir, { recursive: true });
    for (const [f, text] of Object.entries(files)) writeFileSync(join(dir, f), text, { flag: 'wx' });
    console.log(`created ${name} in ${dir} (${opts.template} template)`);
    console.log(`next: ${nameArg ? `cd ${nameArg} && ` : ''}${opts.template === 'hono' ? 'npm install && ' : ''}cpub deploy`);
  });
}
