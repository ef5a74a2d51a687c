// The call log as the execution record keeps it: a JSON array of lines, capped (the first lines are kept, and
// the record says it was cut). Written by the control plane, read back by its API and the dashboard.

export interface CallLogLine {
  atMs: number;
  stream: string;
  level: string;
  message: string;
}

/** The most a call's stored log may hold, characters of its JSON. */
export const CALL_LOG_CAP = 256 * 1024;

/** The stored text of a call's log, and whether lines were cut to fit the cap. */
export function encodeCallLog(lines: CallLogLine[], truncated: boolean, cap = CALL_LOG_CAP): { text: string; truncated: boolean } {
  let kept = lines;
  let text = kept.length ? JSON.stringify(kept) : '[]';
  while (text.length > cap && kept.length) {
    kept = kept.slice(0, Math.floor(kept.length / 2));
    text = JSON.stringify(kept);
    truncated = true;
  }
  return { text, truncated };
}

/** The lines of a stored log; a record that cannot be read is an empty log, not an error. */
export function decodeCallLog(text: string): CallLogLine[] {
  try {
    const v = JSON.parse(text) as unknown;
    return Array.isArray(v) ? (v as CallLogLine[]) : [];
  } catch {
    return [];
  }
}
