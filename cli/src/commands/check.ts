// `cpub check [dir] [--strict]`: the analysis every deploy runs, on its own.
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { analyse } from '../analysis/check.js';
import { examples, type Ctx } from '../context.js';
import { CliError, formatBytes, jsonOption, printJson } from '../output.js';
import { report } from '../analysis/report.js';
import { existsSync } from 'node:fs';

export function checkCommand(program: Command, _ctx: Ctx): void {
  examples(
    program
      .command('check [dir]')
      .description('the checks every deploy runs, without uploading: files that must never ship (.env*, keys, .git/) and risky APIs with file and line; the entry, its default export, the bundle and its size')
      .option('--strict', 'exit 1 when anything is found')
      .addOption(jsonOption()),
    ['cpub check', 'cpub check ./my-fn --strict'],
  ).action(async (dirArg: string | undefined, opts: { strict?: boolean; json?: boolean }) => {
    const dir = resolve(dirArg ?? '.');
    if (!existsSync(dir)) throw new CliError('no such folder', dir, 2);
    const findings = analyse(dir);
    if (opts.json) printJson({ findings });
    else report(findings, Boolean(opts.strict));
    // The bundler and packer (esbuild, tar) are loaded here, not by every run of `cpub`.
    const { pack } = await import('../bundle/pack.js');
    const packed = await pack(dir);
    if (opts.json) {
      if (opts.strict && findings.length) process.exitCode = 1;
      return;
    }
    console.log(`${findings.length ? `${findings.length} finding${findings.length > 1 ? 's' : ''}` : 'no findings'}; bundles to ${formatBytes(packed.bundleBytes)} (${formatBytes(packed.bytes.length)} packed)`);
  });
}
