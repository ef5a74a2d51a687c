// RFC 7240 `Prefer`: whether a request asks to be answered at once and run later (`respond-async`), among any
// other preferences it states (`Prefer: respond-async, wait=10`).
export function prefersAsync(header: string | undefined): boolean {
  if (!header) return false;
  return header.split(',').some((p) => p.split(';')[0]!.trim().toLowerCase() === 'respond-async');
}

/** Where a queued call's progress and answer are. */
export const statusUrlOf = (executionId: string): string => `/api/executions/${executionId}`;
