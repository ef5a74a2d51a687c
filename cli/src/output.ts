// How the CLI prints: stable JSON for --json, aligned tables, colors only on a terminal (and never with
// NO_COLOR), sparklines, and the one error format (`error: <title> — <detail>`).
import { Option } from 'commander';

const useColor = (stream: NodeJS.WriteStream) => Boolean(stream.isTTY) && !process.env.NO_COLOR && process.env.TERM !== 'dumb';

const paint = (code: number) => (text: string, stream: NodeJS.WriteStream = process.stdout) => (useColor(stream) ? `\x1b[${code}m${text}\x1b[0m` : text);
export const color = { green: paint(32), red: paint(31), yellow: paint(33), dim: paint(2), bold: paint(1), cyan: paint(36) };

/** The flag every list or get command takes. */
export const jsonOption = () => new Option('--json', 'print JSON (stable field names, for scripts)');

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** Prints rows as aligned columns under a header; "(none)" for an empty list. */
export function printTable(rows: Record<string, unknown>[], columns: [key: string, title: string][]): void {
  if (!rows.length) return void console.log(color.dim('(none)'));
  const cells = rows.map((r) => columns.map(([k]) => (r[k] === null || r[k] === undefined ? '-' : String(r[k]))));
  const visible = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '').length;
  const widths = columns.map(([, t], i) => Math.max(t.length, ...cells.map((c) => visible(c[i]!))));
  const pad = (s: string, w: number) => s + ' '.repeat(Math.max(0, w - visible(s)));
  console.log(color.bold(columns.map(([, t], i) => pad(t, widths[i]!)).join('  ').trimEnd()));
  for (const c of cells) console.log(c.map((v, i) => pad(v, widths[i]!)).join('  ').trimEnd());
}

/** Prints `key: value` lines, keys aligned. */
export function printFields(fields: [string, unknown][]): void {
  const w = Math.max(...fields.map(([k]) => k.length));
  for (const [k, v] of fields) console.log(`${color.dim(`${k}:`.padEnd(w + 1))} ${v === null || v === undefined ? '-' : String(v)}`);
}

const BARS = '▁▂▃▄▅▆▇█';

/** One character per value, scaled to the largest. */
export function sparkline(values: number[]): string {
  const max = Math.max(0, ...values);
  return values.map((v) => (max === 0 ? BARS[0] : BARS[Math.min(BARS.length - 1, Math.round((v / max) * (BARS.length - 1)))])).join('');
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 ** 2).toFixed(1)} MiB`;
}

/** Errors the CLI reports itself (bad input, a folder that is not a function): exit 1, or 2 for usage. */
export class CliError extends Error {
  constructor(
    readonly title: string,
    readonly detail: string,
    readonly exitCode = 1,
  ) {
    super(`${title} — ${detail}`);
  }
}
