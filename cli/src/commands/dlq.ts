// `cpub dlq list | replay | purge`: a function's dead letters — async calls that failed after their last attempt.
import type { Command } from 'commander';
import type { AsyncAccepted, DeadLetterList } from '../../../common/api-types.js';
import { enc, examples, withServer, withServerJson, type Ctx } from '../context.js';
import { color, printJson, printTable } from '../output.js';

export function dlqCommands(program: Command, ctx: Ctx): void {
  const dlq = program.command('dlq').description('dead letters of a function: async calls (cpub invoke --async) that failed after their last attempt');

  examples(withServerJson(dlq.command('list <fn>').description('the dead letters, the newest first')).option('--limit <n>', 'rows (1–200)', '50'), ['cpub dlq list report']).action(async (ref: string, opts) => {
    const r = await ctx.api(opts).request<DeadLetterList>('GET', `/api/functions/${enc(ref)}/dead-letters?limit=${enc(opts.limit)}`);
    if (opts.json) return printJson(r);
    if (!r.deadLetters.length) return console.error(color.dim('(no dead letters)', process.stderr));
    printTable(
      r.deadLetters.map((d) => ({ ...d, call: `${d.request.method} ${d.request.path}`, n: String(d.attempts), error: d.lastError ?? d.lastStatus })),
      [
        ['id', 'ID'],
        ['failedAt', 'FAILED'],
        ['n', 'ATTEMPTS'],
        ['call', 'REQUEST'],
        ['error', 'LAST ERROR'],
      ],
    );
  });

  examples(withServerJson(dlq.command('replay <fn> <id>').description('queue a dead letter’s request again as a new call (prints its id); it leaves the list')), ['cpub dlq replay report 0193a6…']).action(async (ref: string, id: string, opts) => {
    const r = await ctx.api(opts).request<AsyncAccepted>('POST', `/api/functions/${enc(ref)}/dead-letters/${enc(id)}/replay`);
    if (opts.json) return printJson(r);
    console.log(r.executionId);
    if (process.stderr.isTTY) process.stderr.write(color.dim(`queued; follow it with: cpub execution ${r.executionId}\n`));
  });

  examples(withServer(dlq.command('purge <fn> [id]').description('delete one dead letter, or all of the function’s')), ['cpub dlq purge report 0193a6…', 'cpub dlq purge report']).action(async (ref: string, id: string | undefined, opts) => {
    if (id !== undefined) {
      await ctx.api(opts).request('DELETE', `/api/functions/${enc(ref)}/dead-letters/${enc(id)}`);
      return console.log(`deleted ${id}`);
    }
    const r = await ctx.api(opts).request<{ deleted: number }>('DELETE', `/api/functions/${enc(ref)}/dead-letters`);
    console.log(`deleted ${r.deleted} dead letter${r.deleted === 1 ? '' : 's'}`);
  });
}
