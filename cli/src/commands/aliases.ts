// `cpub aliases list | set | split | rm`: names for a function's versions, called at /fn/<owner>/<name>@<alias>/…;
// `live` is the active version (what the function URL serves), and any alias may split its calls by weight.
import type { Command } from 'commander';
import type { AliasView } from '../../../common/api-types.js';
import { ApiError } from '../api-client.js';
import { parseWeights } from '../../../common/weights.js';
import { enc, examples, withServer, withServerJson, type Ctx } from '../context.js';
import { CliError, printJson, printTable } from '../output.js';

const splitText = (a: AliasView) => (a.weights ? Object.entries(a.weights).map(([v, w]) => `v${v} ${w}%`).join(', ') : '—');

export function aliasesCommands(program: Command, ctx: Ctx): void {
  const aliases = program
    .command('aliases')
    .description('names for a function’s versions, called at /fn/<owner>/<name>@<alias>/…; live is the active version (what the function URL serves); an alias may split its calls between versions by weight');

  examples(withServerJson(aliases.command('list <fn>').description('the function’s aliases, their versions and splits')), ['cpub aliases list api']).action(async (ref: string, opts) => {
    const r = await ctx.api(opts).request<{ aliases: AliasView[] }>('GET', `/api/functions/${enc(ref)}/aliases`);
    if (opts.json) return printJson(r);
    printTable(
      r.aliases.map((a) => ({ ...a, v: a.version === null ? '—' : `v${a.version}`, split: splitText(a), stick: a.sticky ?? '—', floor: a.minInstances ? String(a.minInstances) : '—' })),
      [
        ['name', 'ALIAS'],
        ['v', 'VERSION'],
        ['split', 'SPLIT'],
        ['stick', 'STICKY'],
        ['floor', 'FLOOR'],
      ],
    );
  });

  examples(
    withServerJson(aliases.command('set <fn> <alias> <version>').description('point an alias at a version (made if new; live follows the active version: use cpub rollback)')).option(
      '--min-instances <n>',
      'the alias’s warm floor: containers of its version kept started across the fleet (0: none; live’s is cpub update --min-instances)',
    ),
    ['cpub aliases set api stable 3', 'cpub aliases set api stable 3 --min-instances 2'],
  ).action(async (ref: string, name: string, version: string, opts) => {
    const v = Number(version.replace(/^v/, ''));
    if (!Number.isInteger(v) || v < 1) throw new CliError('bad version', `a version is a number (for example 3); got ${JSON.stringify(version)}`, 2);
    const min = opts.minInstances === undefined ? undefined : Number(opts.minInstances);
    if (min !== undefined && !Number.isInteger(min)) throw new CliError('bad floor', `--min-instances is a number of containers; got ${JSON.stringify(opts.minInstances)}`, 2);
    const body = { version: v, ...(min === undefined ? {} : { minInstances: min }) };
    const api = ctx.api(opts);
    let r: { alias: AliasView };
    try {
      r = await api.request<{ alias: AliasView }>('PATCH', `/api/functions/${enc(ref)}/aliases/${enc(name)}`, body);
    } catch (err) {
      if (!(err instanceof ApiError && err.code === 'alias_not_found')) throw err;
      r = await api.request<{ alias: AliasView }>('POST', `/api/functions/${enc(ref)}/aliases`, { name, ...body });
    }
    if (opts.json) return printJson(r);
    console.log(`${name} → v${r.alias.version}${r.alias.minInstances ? ` (warm floor ${r.alias.minInstances})` : ''}`);
  });

  examples(
    withServerJson(aliases.command('split <fn> <alias> [weights...]').description('split an alias’s calls between versions by weight, <version>=<percent> summing to 100'))
      .option('--sticky <header:name|cookie:name>', 'a caller sending this header or cookie gets the same version every time')
      .option('--off', 'end the split: every call to the alias’s version'),
    ['cpub aliases split api live 1=90 2=10', 'cpub aliases split api live 1=50 2=50 --sticky header:x-user', 'cpub aliases split api live --off'],
  ).action(async (ref: string, name: string, args: string[], opts) => {
    if (opts.off ? args.length > 0 : args.length < 2) throw new CliError('bad split', opts.off ? '--off takes no weights' : 'a split names two versions or more: cpub aliases split <fn> <alias> 1=90 2=10', 2);
    const body = { weights: opts.off ? null : parseWeights(args, (a) => new CliError('bad weight', `a weight is <version>=<percent> (for example 1=90 2=10); got ${JSON.stringify(a)}`, 2)), ...(opts.sticky !== undefined ? { sticky: opts.sticky } : {}) };
    const r = await ctx.api(opts).request<{ alias: AliasView }>('PATCH', `/api/functions/${enc(ref)}/aliases/${enc(name)}`, body);
    if (opts.json) return printJson(r);
    console.log(r.alias.weights ? `${name}: ${splitText(r.alias)}${r.alias.sticky ? ` (sticky by ${r.alias.sticky})` : ''}` : `${name}: no split (v${r.alias.version})`);
  });

  examples(withServer(aliases.command('rm <fn> <alias>').description('delete an alias (not live)')), ['cpub aliases rm api beta']).action(async (ref: string, name: string, opts) => {
    await ctx.api(opts).request('DELETE', `/api/functions/${enc(ref)}/aliases/${enc(name)}`);
    console.log(`deleted ${name}`);
  });
}
