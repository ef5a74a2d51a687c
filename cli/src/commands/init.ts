// `cpub init [name] [--template hello|hono]`: scaffolds a function folder.
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { examples, type Ctx } from '../context.js';
import { CliError } from '../output.js';

const NAME = /^[a-z][a-z0-9-]{0,62}$/;

const HELLO = `// A function: a web-standard handler. \`ctx\` has the env, a logger, the invocation id, the deadline and its
// AbortSignal, and the function's name and version.
interface Context {
  env: Record<string, string>;
  invocationId: string;
  function: { name: string; version: number };
  log: { info(...args: unknown[]): void };
}

export default async function handler(request: Request, ctx: Context): Promise<Response> {
  const name = new URL(request.url).searchParams.get('name') ?? 'world';
  ctx.log.info(\`greeting \${name}\`);
  return Response.json({ message: \`Hello, \${name}!\`, invocationId: ctx.invocationId });
}
`;

const HONO = `// A Hono app deploys as is: its default export has fetch(request, env, ctx), the shape functions have.
import { Hono } from 'hono';

const app = new Hono();
app.get('/', (c) => c.json({ app: 'hono', routes: ['/', '/users/:id'] }));
app.get('/users/:id', (c) => c.json({ id: c.req.param('id') }));

export default app;
`;

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
    if (existsSync(dir) && readdirSync(dir).some((f) => f === 'containerpub.json' || f === 'index.ts')) throw new CliError('folder not empty', `${dir} already holds a function`);
    mkdirSync(dir, { recursive: true });
    const files: Record<string, string> = {
      'index.ts': opts.template === 'hono' ? HONO : HELLO,
      'containerpub.json': JSON.stringify({ name, entry: 'index.ts', memoryMb: 128, timeoutMs: 10_000 }, null, 2) + '\n',
      'package.json': JSON.stringify({ name, private: true, type: 'module', ...(opts.template === 'hono' ? { dependencies: { hono: '^4.13.0' } } : {}) }, null, 2) + '\n',
      'tsconfig.json': JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'ESNext', moduleResolution: 'Bundler', strict: true, lib: ['ES2022', 'DOM'], noEmit: true } }, null, 2) + '\n',
      'README.md': `# ${name}\n\nA ContainerPub function.\n\n\`\`\`sh\n${opts.template === 'hono' ? 'npm install\n' : ''}cpub deploy        # bundle, upload, build; prints the URL\ncpub invoke ${name}\ncpub logs ${name} -f\n\`\`\`\n`,
      '.gitignore': 'node_modules/\n.env*\n',
    };
    for (const [f, text] of Object.entries(files)) writeFileSync(join(dir, f), text);
    console.log(`created ${name} in ${dir} (${opts.template} template)`);
    console.log(`next: ${nameArg ? `cd ${nameArg} && ` : ''}${opts.template === 'hono' ? 'npm install && ' : ''}cpub deploy`);
  });
}
