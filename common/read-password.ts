// Reads a password for a command-line tool: prompted without echo on a terminal, else the first line of stdin.
import { createInterface } from 'node:readline';

export async function readPassword(prompt: string, input: NodeJS.ReadStream = process.stdin): Promise<string> {
  if (!input.isTTY) {
    const chunks: Buffer[] = [];
    for await (const chunk of input) chunks.push(chunk as Buffer);
    const line = Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '';
    if (!line) throw new Error('no password on standard input');
    return line;
  }
  const rl = createInterface({ input, output: process.stderr, terminal: true });
  const out = rl as unknown as { _writeToOutput: (s: string) => void };
  let prompting = true;
  out._writeToOutput = (s: string) => {
    if (prompting) process.stderr.write(s);
  };
  return new Promise((resolve) => {
    rl.question(prompt, (answer) => {
      rl.close();
      process.stderr.write('\n');
      resolve(answer);
    });
    prompting = false;
  });
}
