// `cpub env list | set | unset`: a function's env vars and secrets (secret values never printed).
import type { Command } from 'commander';
import { readPassword } from '../../../common/read-password.js';
import { enc, examples, withServer, withServerJson, type Ctx } from '../context.js';
import { CliError, printJson, printTable } from '../output.js';
import type { EnvList } from '../../../common/api-types.js';

export function envCommands(program: Command, ctx: Ctx): void {
  const env = program.command('env').description('env vars and secrets of a function (new containers get them; warm ones are recycled)');

  examples(withServerJson(env.command('list <fn>').description('the vars, with secrets masked')), ['cpub env list hello']).action(async (ref: string, opts) => {
    const r = await ctx.api(opts).request<EnvList>('GET', `/api/functions/${enc(ref)}/env`);
    if (opts.json) return printJson(r);
    printTable(
      r.env.map((e) => ({ ...e, kind: e.secret ? 'secret' : 'var' })),
      [
        ['key', 'KEY'],
        ['value', 'VALUE'],
        ['kind', 'KIND'],
        ['updatedAt', 'UPDATED'],
      ],
    );
  });

  examples(
    withServer(env.command('set <fn> <pairs...>').description('set vars as K=V; with --secret they are secrets (a secret without =V is read from stdin)')).option('--secret', 'store the values encrypted; never shown again'),
    ['cpub env set hello GREETING=hi LEVEL=debug', 'cpub env set hello --secret API_TOKEN   # value from stdin', 'printf %s "$TOKEN" | cpub env set hello --secret API_TOKEN'],
  ).action(async (ref: string, pairs: string[], opts) => {
    const values: Record<string, string> = {};
    for (const p of pairs) {
      const i = p.indexOf('=');
      if (i === 0) throw new CliError('invalid pair', `${p}: use KEY=VALUE`, 2);
      if (i < 0) {
        if (!opts.secret) throw new CliError('invalid pair', `${p}: use KEY=VALUE (only a --secret may take its value from stdin)`, 2);
        if (pairs.length > 1) throw new CliError('one secret from stdin', `${p}: give the others as KEY=VALUE`, 2);
        values[p] = await readPassword(`Value for ${p}: `);
      } else values[p.slice(0, i)] = p.slice(i + 1);
    }
    await ctx.api(opts).request('PUT', `/api/functions/${enc(ref)}/env`, opts.secret ? { vars: {}, secrets: values } : { vars: values, secrets: {} });
    console.log(`set ${Object.keys(values).join(', ')}${opts.secret ? ' (secret)' : ''} on ${ref}`);
  });

  examples(withServer(env.command('unset <fn> <keys...>').description('remove vars or secrets')), ['cpub env unset hello GREETING']).action(async (ref: string, keys: string[], opts) => {
    const api = ctx.api(opts);
    for (const k of keys) await api.request('DELETE', `/api/functions/${enc(ref)}/env/${enc(k)}`);
    console.log(`unset ${keys.join(', ')} on ${ref}`);
  });
}
