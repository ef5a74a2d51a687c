// `cpub token create | list | revoke`: scoped tokens for CI (CPUB_TOKEN=…): personal access tokens, or with
// --team a team's service token. A secret is printed once.
import type { Command } from 'commander';
import type { AccessTokenView, AccessTokenWithSecret } from '../../../common/api-types.js';
import { enc, examples, withServer, withServerJson, type Ctx } from '../context.js';
import { color, printJson, printTable } from '../output.js';

const SCOPES = 'functions:read, logs:read, invoke, functions:deploy, env:write, functions:write, env:read, keys:read, keys:write, audit:read, team:read, team:manage, team:delete';
const base = (team: string | undefined) => (team ? `/api/teams/${enc(team)}/tokens` : '/api/tokens');

/** `--rate 10 --burst 20` as the API's rateLimit (nothing without --rate). */
export function rateOf(opts: { rate?: string; burst?: string }): { rateLimit?: { perSecond: number; burst: number } } {
  if (opts.rate === undefined) return {};
  const perSecond = Number(opts.rate);
  const burst = opts.burst === undefined ? Math.max(1, Math.ceil(perSecond)) : Number(opts.burst);
  return { rateLimit: { perSecond, burst } };
}

export function tokenCommands(program: Command, ctx: Ctx): void {
  const token = program.command('token').description('scoped tokens for CI and scripts (use one as CPUB_TOKEN): personal ones act as you within your roles; --team makes a team service token that acts as the team');

  examples(
    withServerJson(token.command('create <name>').description('make a token; its secret is printed once'))
      .requiredOption('--scopes <list>', `comma-separated: ${SCOPES}`)
      .option('--expires <when>', '1h, 1d, 7d, 30d, 90d, 1y or never', '30d')
      .option('--team <handle>', 'a service token of this team (team admins and owners)')
      .option('--rate <perSecond>', 'calls a second it may make (429 past it; per server replica)')
      .option('--burst <n>', 'calls it may make at once before the rate applies (default: the rate, at least 1)'),
    ['cpub token create ci-deploy --scopes functions:read,functions:deploy --expires 90d', 'cpub token create nightly --team payments --scopes invoke'],
  ).action(async (name: string, opts) => {
    const scopes = String(opts.scopes).split(',').map((x) => x.trim()).filter(Boolean);
    const r = await ctx.api(opts).request<AccessTokenWithSecret>('POST', base(opts.team), { name, scopes, expiresIn: opts.expires, ...rateOf(opts) });
    if (opts.json) return printJson(r);
    console.log(r.secret);
    console.error(color.yellow(`↑ token ${r.token.name} (${r.token.scopes.join(', ')}), until ${r.token.expiresAt ?? 'revoked'}: shown this once; use it as CPUB_TOKEN`, process.stderr));
  });

  examples(withServerJson(token.command('list').description('your tokens (or --team’s service tokens), without secrets').option('--team <handle>', 'the team’s service tokens')), ['cpub token list', 'cpub token list --team payments']).action(async (opts) => {
    const r = await ctx.api(opts).request<{ tokens: AccessTokenView[] }>('GET', base(opts.team));
    if (opts.json) return printJson(r);
    printTable(
      r.tokens.map((t) => ({ ...t, scopes: t.scopes.join(','), rate: t.rateLimit ? `${t.rateLimit.perSecond}/s (burst ${t.rateLimit.burst})` : '-', state: t.revokedAt ? 'revoked' : t.expiresAt && Date.parse(t.expiresAt) < Date.now() ? 'expired' : 'active' })),
      [
        ['id', 'ID'],
        ['name', 'NAME'],
        ['prefix', 'PREFIX'],
        ['scopes', 'SCOPES'],
        ['rate', 'RATE'],
        ['state', 'STATE'],
        ['expiresAt', 'EXPIRES'],
        ['lastUsedAt', 'LAST USED'],
      ],
    );
  });

  examples(withServer(token.command('revoke <id>').description('revoke a token (it stops working within a second)').option('--team <handle>', 'a service token of this team')), ['cpub token revoke 3f2c…']).action(async (id: string, opts) => {
    await ctx.api(opts).request('DELETE', `${base(opts.team)}/${enc(id)}`);
    console.log(`revoked ${id}`);
  });
}
