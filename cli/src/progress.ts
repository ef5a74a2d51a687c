// Progress on stderr: a bar for uploads and a spinner for builds on a terminal; plain lines otherwise.
import { formatBytes } from './output.js';

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const tty = () => Boolean(process.stderr.isTTY);

export function uploadBar(total: number): { update(sent: number): void; done(): void } {
  if (!tty()) {
    process.stderr.write(`uploading ${formatBytes(total)}…\n`);
    return { update: () => {}, done: () => process.stderr.write(`uploaded ${formatBytes(total)}\n`) };
  }
  let last = -1;
  const draw = (sent: number) => {
    const pct = total ? Math.floor((sent / total) * 100) : 100;
    if (pct === last) return;
    last = pct;
    const width = 30;
    const filled = Math.round((pct / 100) * width);
    process.stderr.write(`\r\x1b[Kuploading [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(pct).padStart(3)}% ${formatBytes(sent)}/${formatBytes(total)}`);
  };
  return { update: draw, done: () => (draw(total), process.stderr.write('\n')) };
}

/** A status line with a spinner; `line()` prints a log line above it. */
export function spinner(text: string): { line(s: string): void; stop(final?: string): void } {
  if (!tty()) {
    process.stderr.write(`${text}…\n`);
    return { line: (s) => process.stderr.write(`  ${s}\n`), stop: (final) => final && process.stderr.write(`${final}\n`) };
  }
  let i = 0;
  const draw = () => process.stderr.write(`\r\x1b[K${FRAMES[i++ % FRAMES.length]} ${text}`);
  draw();
  const timer = setInterval(draw, 80);
  return {
    line: (s) => {
      process.stderr.write(`\r\x1b[K  ${s}\n`);
      draw();
    },
    stop: (final) => {
      clearInterval(timer);
      process.stderr.write(`\r\x1b[K${final ? `${final}\n` : ''}`);
    },
  };
}
