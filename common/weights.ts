// A split's weights as people type them — `1=90 2=10` (or `v1=90%`) — for the CLI and the dashboard; the server
// checks what they mean (ready versions, whole percents summing to 100).
const WEIGHT = /^v?([1-9][0-9]*)=([0-9]{1,3})%?$/;

/** {"<version>": percent} from `<version>=<percent>` parts; `bad` names a part that is not one. */
export function parseWeights(parts: string[], bad: (part: string) => Error): Record<string, number> {
  const weights: Record<string, number> = {};
  for (const part of parts) {
    const m = WEIGHT.exec(part);
    if (!m) throw bad(part);
    weights[m[1]!] = Number(m[2]);
  }
  return weights;
}

/** `header:<name>` or `cookie:<name>` (a token, as HTTP names headers and cookies). */
export const STICKY = /^(header|cookie):[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$/;
