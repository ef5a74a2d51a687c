// Client-side analysis before every deploy (and `cpub check`): files that must never ship, and risky APIs
// in the function's own code, each reported with its path (and line). Nothing here runs the function.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

export interface Finding {
  kind: 'secret-file' | 'risky-api';
  /** Relative to the function's folder, with forward slashes. */
  path: string;
  line?: number;
  what: string;
}

const SECRET_FILES: [RegExp, string][] = [
  [/^\.env($|\.)/, 'an environment file (.env*)'],
  [/\.pem$/i, 'a PEM key or certificate'],
  [/\.key$/i, 'a private key file'],
  [/^id_rsa/, 'an SSH private key (id_rsa*)'],
  [/^credentials.*\.json$/i, 'a credentials file'],
];

const RISKY: [RegExp, string][] = [
  [/\bchild_process\b/, 'child_process (runs other programs)'],
  [/(^|[^.\w])eval\s*\(/, 'eval() (runs code built at run time)'],
  [/\bnew\s+Function\s*\(/, 'new Function() (runs code built at run time)'],
  [/\bprocess\.(binding|dlopen)\s*\(/, 'process.binding/dlopen (reaches Node internals or native code)'],
  [/(from\s+|require\s*\(\s*|import\s*\(\s*)['"](node:)?(net|dgram|tls)['"]/, 'raw sockets (net, dgram, tls)'],
  [/\b(createServer|createSocket)\s*\(/, 'opens a server or socket'],
];

/** File writes whose first argument is not visibly under /tmp. */
const WRITE_CALL = /\b(writeFile|writeFileSync|appendFile|appendFileSync|createWriteStream|mkdir|mkdirSync|rm|rmSync|unlink|unlinkSync|rename|renameSync|copyFile|copyFileSync|cp|cpSync)\s*\(\s*([^,)]*)/;
const UNDER_TMP = /^(['"`]\/tmp\/|.*\btmpdir\s*\()/;

const SOURCE = /\.(m|c)?(j|t)sx?$/;
const SKIP_DIRS = new Set(['node_modules', 'dist', '.cpub']);

export function analyse(dir: string): Finding[] {
  const findings: Finding[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const full = join(d, entry.name);
      const rel = relative(dir, full).split(sep).join('/');
      if (entry.isDirectory()) {
        if (entry.name === '.git') findings.push({ kind: 'secret-file', path: `${rel}/`, what: 'a git folder (history may hold secrets)' });
        else if (!SKIP_DIRS.has(entry.name)) walk(full);
        continue;
      }
      const secret = SECRET_FILES.find(([re]) => re.test(entry.name));
      if (secret) {
        findings.push({ kind: 'secret-file', path: rel, what: secret[1] });
        continue;
      }
      if (entry.isFile() && SOURCE.test(entry.name) && !entry.name.endsWith('.d.ts') && statSync(full).size < 2 * 2 ** 20) scan(full, rel, findings);
    }
  };
  walk(dir);
  return findings.sort((a, b) => a.path.localeCompare(b.path) || (a.line ?? 0) - (b.line ?? 0));
}

function scan(file: string, rel: string, findings: Finding[]): void {
  const lines = readFileSync(file, 'utf8').split('\n');
  let inBlock = false;
  lines.forEach((raw, i) => {
    let text = raw.trim();
    if (inBlock) {
      if (!text.includes('*/')) return;
      inBlock = false;
      text = text.slice(text.indexOf('*/') + 2);
    }
    if (text.startsWith('/*') && !text.includes('*/')) inBlock = true;
    if (text.startsWith('//') || text.startsWith('*') || inBlock) return;
    const code = text.replace(/\/\/.*$/, '');
    for (const [re, what] of RISKY) if (re.test(code)) findings.push({ kind: 'risky-api', path: rel, line: i + 1, what });
    const w = WRITE_CALL.exec(code);
    if (w && !UNDER_TMP.test(w[2]!.trim())) {
      findings.push({ kind: 'risky-api', path: rel, line: i + 1, what: `${w[1]}() outside /tmp (the container's only writable folder)` });
    }
  });
}

export function describe(f: Finding): string {
  return `${f.path}${f.line ? `:${f.line}` : ''}  ${f.what}`;
}
