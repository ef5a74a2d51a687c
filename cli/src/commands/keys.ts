// `cpub keys create | list | revoke | roll`: a function's API keys (a secret is printed once, at creation or roll).
import type { Command } from 'commander';
import type { KeyList, KeyView, KeyWithSecret } from '../../../common/api-types.js';
import { enc, examples, withServer, withServerJson, type Ctx } from '../context.js';
import { CliError, color, printJson, printTable } from '../output.js';
import { rateOf } from './tokens.js';

const EXPIRIES = ['1h', '1d', '7d', '30d', 'never'];

function printSecret(fn: string, key: KeyView, secret: string, json: boolean | undefined): void {
  if (json) return printJson({ key, secret });
  console.log(secret);
  console.error(color.yellow(`↑ the secret of key ${key.id} (${key.name}) for ${fn}: shown this once, store it now`, process.stderr));
}

export function keysCommands(program: Command, ctx: Ctx): void {
  const keys = program.command('keys').description('API keys of a function (for auth mode "key", and for POST …/invoke)');

  examples(withServerJson(keys.command('create <fn>').description('issue a key; its secret is printed once')).option('--name <name>', 'a label', 'default').option('--expires <when>', `${EXPIRIES.join(', ')}`, '30d').option('--rate <perSecond>', 'calls a second it may make (429 past it; per server replica)').option('--burst <n>', 'calls at once before the rate applies'), [
    'cpub keys create hello --name ci --expires 7d',
  ]).action(async (ref: string, opts) => {
    if (!EXPIRIES.includes(opts.expires)) throw new CliError('invalid --expires', `${opts.expires}: use ${EXPIRIES.join(', ')}`, 2);
    const r = await ctx.api(opts).request<KeyWithSecret>('POST', `/api/functions/${enc(ref)}/keys`, { name: opts.name, expiresIn: opts.expires, ...rateOf(opts) });
    printSecret(ref, r.key, r.secret, opts.json);
  });

  examples(withServerJson(keys.command('list <fn>').description('keys without their secrets')), ['cpub keys list hello']).action(async (ref: string, opts) => {
    const r = await ctx.api(opts).request<KeyList>('GET', `/api/functions/${enc(ref)}/keys`);
    if (opts.json) return printJson(r);
    printTable(
      r.keys.map((k) => ({ ...k, rate: k.rateLimit ? `${k.rateLimit.perSecond}/s (burst ${k.rateLimit.burst})` : '-', state: k.revokedAt ? 'revoked' : k.expiresAt && Date.parse(k.expiresAt) < Date.now() ? 'expired' : 'active' })),
      [
        ['id', 'ID'],
        ['name', 'NAME'],
        ['prefix', 'PREFIX'],
        ['rate', 'RATE'],
        ['state', 'STATE'],
        ['createdAt', 'CREATED'],
        ['expiresAt', 'EXPIRES'],
        ['lastUsedAt', 'LAST USED'],
      ],
    );
  });

  examples(withServer(keys.command('revoke <fn> <keyId>').description('revoke a key (kept for the record)')), ['cpub keys revoke hello 3f2c…  # the ID from cpub keys list']).action(async (ref: string, keyId: string, opts) => {
    await ctx.api(opts).request('DELETE', `/api/functions/${enc(ref)}/keys/${enc(keyId)}`);
    console.log(`revoked ${keyId}`);
  });

  examples(withServerJson(keys.command('roll <fn> <keyId>').description('replace a key’s secret; the new one is printed once')), ['cpub keys roll hello 3f2c…']).action(async (ref: string, keyId: string, opts) => {
    const r = await ctx.api(opts).request<KeyWithSecret>('POST', `/api/functions/${enc(ref)}/keys/${enc(keyId)}/roll`);
    printSecret(ref, r.key, r.secret, opts.json);
  });
}
