// `cpub register | login | logout | whoami`: accounts and the saved session.
import type { Command } from 'commander';
import { readPassword } from '../../../common/read-password.js';
import { ask } from '../prompt.js';
import { examples, withServer, withServerJson, type Ctx } from '../context.js';
import { CliError, printJson } from '../output.js';
import { ApiError } from '../api-client.js';
import type { TokenPair, UserView } from '../../../common/api-types.js';

/** The password: typed on a terminal, or with --password-stdin the first line of standard input. */
function password(prompt: string, fromStdin: boolean | undefined): Promise<string> {
  if (!process.stdin.isTTY && !fromStdin) throw new CliError('no terminal to ask for the password', 'pass --password-stdin and send it on standard input', 2);
  return readPassword(prompt);
}

export function authCommands(program: Command, ctx: Ctx): void {
  examples(
    withServer(program.command('register').description('create an account (the first one on a server becomes its admin)'))
      .option('--email <email>', 'your email (asked when missing)')
      .option('--name <name>', 'display name')
      .option('--password-stdin', 'read the password from standard input'),
    ['cpub register --server http://127.0.0.1:8080 --email me@example.com'],
  ).action(async (opts) => {
    const api = ctx.api(opts);
    const email = opts.email ?? (await ask('Email: '));
    const pw = await password('Password (8–256 characters): ', opts.passwordStdin);
    const { user } = await api.request<{ user: UserView }>('POST', '/api/auth/register', { email, password: pw, name: opts.name }, false);
    api.saveTokens({});
    console.log(`registered ${user.email} (${user.role}); now run: cpub login`);
  });

  examples(
    withServer(program.command('login').description('log in and keep the tokens in $XDG_CONFIG_HOME/containerpub/config.json (mode 0600)'))
      .option('--email <email>', 'your email (asked when missing)')
      .option('--password-stdin', 'read the password from standard input'),
    ['cpub login --server http://127.0.0.1:8080', 'echo "$PASSWORD" | cpub login --email me@example.com --password-stdin'],
  ).action(async (opts) => {
    const api = ctx.api(opts);
    const email = opts.email ?? (await ask('Email: '));
    const pw = await password('Password: ', opts.passwordStdin);
    const t = await api.request<TokenPair>('POST', '/api/auth/login', { email, password: pw }, false);
    api.saveTokens({ accessToken: t.accessToken, refreshToken: t.refreshToken, email });
    console.log(`logged in to ${api.server} as ${email}`);
  });

  examples(withServer(program.command('logout').description('end the session on the server, then forget it here')), ['cpub logout']).action(async (opts) => {
    const api = ctx.api(opts);
    const refreshToken = api.refreshToken;
    // A 401 means the session had ended already; anything else (unreachable, 5xx) leaves it alive on the server.
    const ended: true | Error = refreshToken ? await api.request('POST', '/api/auth/logout', { refreshToken }).then(() => true as const, (err: Error) => (err instanceof ApiError && err.status === 401 ? true : err)) : true;
    api.forgetTokens();
    if (ended !== true) throw new CliError('logged out here only', `the server did not end the session (${ended.message}); it ends when its refresh token expires`);
    console.log('logged out');
  });

  examples(withServerJson(program.command('whoami').description('the account you are logged in as')), ['cpub whoami', 'cpub whoami --json']).action(async (opts) => {
    const api = ctx.api(opts);
    const me = await api.request<UserView>('GET', '/api/users/me');
    if (opts.json) return printJson(me);
    console.log(`${me.email} (${me.name}, ${me.role}${me.handle ? `, handle ${me.handle}` : ''}) on ${api.server}`);
  });
}
