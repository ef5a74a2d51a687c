// How long the event loop was held while some work ran: a timer every 10 ms notes the longest gap between its runs.
export async function longestStall<T>(work: () => Promise<T>): Promise<{ value: T; longestMs: number }> {
  let last = performance.now();
  let longest = 0;
  const tick = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
  }, 10);
  try {
    const value = await work();
    return { value, longestMs: Math.max(longest, performance.now() - last) };
  } finally {
    clearInterval(tick);
  }
}
