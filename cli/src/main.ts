// `cpub`: the developer CLI. Today: register, login, logout, whoami (the rest arrives with the CLI issue).
import { createInterface } from 'node:readline/promises';
import { Command } from 'commander';
import { ApiClient, ApiError } from './api-client.js';
import { readPassword } from '../../control-plane/src/admin/read-password.js';
import { VERSION } from '../../control-plane/src/version.js';

interface User {
  id: string;
  email: string;
  name: string;
  role: string;
}

async function ask(question: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return (await rl.question(question)).trim();
  } finally {
    rl.close();
  }
}

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const program = new Command('cpub').description('ContainerPub CLI: deploy and run functions on your ContainerPub server.').version(VERSION).showHelpAfterError();
  const serverOpt = ['--server <url>', 'control plane URL [CPUB_SERVER, then the saved one]'] as const;

  program
    .command('register')
    .description('create an account (the first one on a server becomes its admin)')
    .option(...serverOpt)
    .option('--email <email>', 'your email (asked when missing)')
    .option('--name <name>', 'display name')
    .option('--password-stdin', 'read the password from standard input')
    .action(async (opts) => {
      const api = new ApiClient(env, opts.server);
      const email = opts.email ?? (await ask('Email: '));
      const password = await readPassword('Password (8–256 characters): ');
      const { user } = await api.request<{ user: User }>('POST', '/api/auth/register', { email, password, name: opts.name }, false);
      api.saveTokens({});
      console.log(`registered ${user.email} (${user.role}); now run: cpub login`);
    });

  program
    .command('login')
    .description('log in and keep the tokens in ~/.config/containerpub/config.json (mode 0600)')
    .option(...serverOpt)
    .option('--email <email>', 'your email (asked when missing)')
    .option('--password-stdin', 'read the password from standard input')
    .action(async (opts) => {
      const api = new ApiClient(env, opts.server);
      const email = opts.email ?? (await ask('Email: '));
      const password = await readPassword('Password: ');
      const t = await api.request<{ accessToken: string; refreshToken: string }>('POST', '/api/auth/login', { email, password }, false);
      api.saveTokens({ accessToken: t.accessToken, refreshToken: t.refreshToken, email });
      console.log(`logged in to ${api.server} as ${email}`);
    });

  program
    .command('logout')
    .description('end the session on the server, then forget it here')
    .option(...serverOpt)
    .action(async (opts) => {
      const api = new ApiClient(env, opts.server);
      if (api.refreshToken) await api.request('POST', '/api/auth/logout', { refreshToken: api.refreshToken }).catch(() => undefined);
      api.forgetTokens();
      console.log('logged out');
    });

  program
    .command('whoami')
    .description('the account you are logged in as')
    .option(...serverOpt)
    .option('--json', 'print JSON')
    .action(async (opts) => {
      const api = new ApiClient(env, opts.server);
      const me = await api.request<User>('GET', '/api/users/me');
      console.log(opts.json ? JSON.stringify(me, null, 2) : `${me.email} (${me.name}, ${me.role}) on ${api.server}`);
    });

  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof ApiError) {
      console.error(`error: ${err.title} — ${err.detail}`);
      process.exit(1);
    }
    throw err;
  }
}
