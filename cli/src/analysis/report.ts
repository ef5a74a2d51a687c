// How findings are shown: one warning line each on stderr; under --strict any finding stops the command.
import { describe, type Finding } from './check.js';
import { CliError, color } from '../output.js';

/** Prints the findings (warnings on stderr); under --strict any finding stops the deploy. */
export function report(findings: Finding[], strict: boolean): void {
  for (const f of findings) {
    const note = f.kind === 'secret-file' ? (strict ? 'never ships' : 'left out of the bundle') : 'risky API';
    console.error(`${color.yellow('warning:', process.stderr)} ${describe(f)} (${note})`);
  }
  if (strict && findings.length) throw new CliError('blocked by --strict', `${findings.length} finding${findings.length > 1 ? 's' : ''} above; remove them or deploy without --strict`);
}
