// `cpub check [dir] [--strict]`: the analysis every deploy runs, on its own.
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { analyse, describe, type Finding } from '../analysis/check.js';
import { examples, type Ctx } from '../context.js';
import { CliError, color, printJson } from '../output.js';

/** Prints the findings (warnings on stderr); under --strict any finding stops the deploy. */
export function report(findings: Finding[], strict: boolean): void {
  for (const f of findings) {
    const note = f.kind === 'secret-file' ? (strict ? 'never ships' : 'left out of the bundle') : 'risky API';
    console.error(`${color.yellow('warning:', process.stderr)} ${describe(f)} (${note})`);
  }
  if (strict && findings.length) throw new CliError('blocked by --strict', `${findings.length} finding${findings.length > 1 ? 's' : ''} above; remove them or deploy without --strict`);
}

export function checkCommand(program: Command, _ctx: Ctx): void {
  examples(
    program
      .command('check [dir]')
      .description('analyse a function folder: files that must never ship (.env*, keys, .git/) and risky APIs, with file and line')
      .option('--strict', 'exit 1 when anything is found')
      .option('--json', 'print the findings as JSON'),
    ['cpub check', 'cpub check ./my-fn --strict'],
  ).action((dir: string | undefined, opts: { strict?: boolean; json?: boolean }) => {
    const findings = analyse(resolve(dir ?? '.'));
    if (opts.json) {
      printJson({ findings });
      if (opts.strict && findings.length) process.exitCode = 1;
      return;
    }
    report(findings, Boolean(opts.strict));
    if (!findings.length) console.log('no findings');
  });
}
