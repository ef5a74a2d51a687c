// `cpub invoke <fn>`: calls a function through POST /api/functions/:ref/invoke and prints its answer; with --async,
// queues it (Prefer: respond-async) and prints the id of the queued call.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { enc, examples, withServer, type Ctx } from '../context.js';
import { CliError, color, jsonOption, printJson } from '../output.js';
import type { AsyncAccepted, InvokeResult } from '../../../common/api-types.js';

export function invokeCommand(program: Command, ctx: Ctx): void {
  examples(
    withServer(program.command('invoke <fn>').description('call a function and print its response body'))
      .option('-d, --data <data>', 'request body: text or JSON, or @file to read it from a file')
      .option('-X, --method <method>', 'HTTP method (default: POST with --data, else GET)')
      .option('--path <path>', 'path under the function', '/')
      .option('-H, --header <header...>', 'request header as K:V (repeatable)')
      .option('--alias <alias>', 'call through an alias of the function (its version, or its split): see cpub aliases')
      .option('-v, --verbose', 'also print the status, headers, execution id and timings (on stderr)')
      .option('--async', 'queue the call and print its id at once (Prefer: respond-async); it runs soon, retried on failure — see `cpub execution <id>`')
      .addOption(jsonOption()),
    ['cpub invoke hello', `cpub invoke hello --data '{"name":"Ada"}' -H content-type:application/json`, 'cpub invoke api --path /users/7 -v', 'cpub invoke report --async'],
  ).action(async (ref: string, opts) => {
    const api = ctx.api(opts);
    let body: string | undefined;
    if (opts.data !== undefined) {
      if (opts.data.startsWith('@')) {
        try {
          body = readFileSync(opts.data.slice(1), 'utf8');
        } catch (err) {
          throw new CliError('cannot read the body', `${opts.data.slice(1)}: ${(err as Error).message}`, 2);
        }
      } else body = opts.data;
    }
    const headers: Record<string, string> = {};
    for (const h of (opts.header as string[] | undefined) ?? []) {
      const i = h.indexOf(':');
      if (i <= 0) throw new CliError('invalid header', `${h}: use K:V`, 2);
      headers[h.slice(0, i).trim().toLowerCase()] = h.slice(i + 1).trim();
    }
    const [path, query = ''] = String(opts.path).split('?');
    const method = (opts.method ?? (body === undefined ? 'GET' : 'POST')).toUpperCase();
    const envelope = { method, path, query, headers, ...(body === undefined ? {} : { body }), ...(opts.alias === undefined ? {} : { alias: opts.alias }) };
    if (opts.async) {
      const queued = await api.json<AsyncAccepted>(await api.send('POST', `/api/functions/${enc(ref)}/invoke`, { body: envelope, headers: { prefer: 'respond-async' } }));
      if (opts.json) return printJson(queued);
      console.log(queued.executionId);
      if (process.stderr.isTTY) process.stderr.write(color.dim(`queued; follow it with: cpub execution ${queued.executionId}\n`));
      return;
    }
    if (!opts.json) return streamed(await api.send('POST', `/api/functions/${enc(ref)}/invoke?stream=true`, { body: envelope }), api, Boolean(opts.verbose));
    const r = await api.request<InvokeResult>('POST', `/api/functions/${enc(ref)}/invoke`, envelope);
    if (opts.json) return printJson(r);
    if (opts.verbose) {
      process.stderr.write(`status: ${r.statusCode}\n`);
      for (const [k, v] of Object.entries(r.headers)) process.stderr.write(`${k}: ${v}\n`);
      process.stderr.write(`execution: ${r.executionId}${r.sampled ? ' (sampled: no record kept)' : ''}\nduration: ${r.durationMs} ms${r.coldStart ? ' (cold start)' : ''}\n\n`);
    }
    const bytes = Buffer.from(r.body, r.bodyEncoding === 'base64' ? 'base64' : 'utf8');
    process.stdout.write(bytes);
    if (process.stdout.isTTY && bytes.length && bytes[bytes.length - 1] !== 10) process.stdout.write('\n');
    if (r.statusCode >= 400) process.exitCode = 1;
  });
}

/**
 * Prints the answer's body as it comes (a function that streams shows each part when it is made), its status and
 * headers first with -v. A stream the server cut (the function failed, its deadline or limit passed) is an error.
 */
async function streamed(res: Response, api: { json<T>(r: Response): Promise<T>; send(method: string, path: string): Promise<Response> }, verbose: boolean): Promise<void> {
  if (!res.ok) await api.json(res); // throws the problem
  const status = Number(res.headers.get('cpub-status') ?? 0);
  const executionId = res.headers.get('cpub-execution-id') ?? '';
  if (verbose) {
    process.stderr.write(`status: ${status}\n`);
    let headers: Record<string, string> = {};
    try {
      headers = JSON.parse(res.headers.get('cpub-headers') ?? '{}') as Record<string, string>;
    } catch {
      // not ours to fail on: the body still prints
    }
    for (const [k, v] of Object.entries(headers)) process.stderr.write(`${k}: ${v}\n`);
    process.stderr.write(`execution: ${executionId}\n\n`);
  }
  let last = 10;
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      if (!chunk.length) continue;
      last = chunk[chunk.length - 1]!;
      if (!process.stdout.write(chunk)) await new Promise((r) => process.stdout.once('drain', r));
    }
  } catch {
    if (process.stdout.isTTY && last !== 10) process.stdout.write('\n');
    throw new CliError('the answer was cut off', `the function's streamed answer did not end well; see \`cpub execution ${executionId}\``);
  }
  if (process.stdout.isTTY && last !== 10) process.stdout.write('\n');
  // Its record is written by the time the answer ends: how long the call took (none kept for a sampled call).
  if (verbose && executionId) {
    const r = await api.send('GET', `/api/executions/${encodeURIComponent(executionId)}`);
    const ex = r.ok ? ((await r.json()) as { execution?: { durationMs: number; coldStart: boolean } }).execution : (await r.body?.cancel(), undefined);
    process.stderr.write(ex ? `duration: ${ex.durationMs} ms${ex.coldStart ? ' (cold start)' : ''}\n` : 'duration: unknown (no record kept: sampled)\n');
  }
  if (status >= 400) process.exitCode = 1;
}
