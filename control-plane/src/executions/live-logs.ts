// A function's live log lines as Server-Sent Events (`event: log`): the recent lines first, then each line as it
// arrives from any agent, until the client goes away. Used by `GET …/logs?follow=true` and the dashboard's tail.
import type { Context } from 'hono';
import type { EventEmitter } from 'node:events';
import { streamSSE } from 'hono/streaming';
import type { LiveLogLine } from '../fleet/fleet.service.js';

export function liveLogStream(c: Context, liveLogs: EventEmitter, functionId: string, recent: unknown[]): Response {
  return streamSSE(c, async (sse) => {
    const queue: LiveLogLine[] = [];
    let wake: (() => void) | undefined;
    const on = (l: LiveLogLine) => {
      if (queue.length < 10_000) queue.push(l); // a reader that does not keep up loses lines, not memory
      wake?.();
    };
    liveLogs.on(functionId, on);
    let open = true;
    sse.onAbort(() => {
      open = false;
      liveLogs.off(functionId, on);
      wake?.();
    });
    const ping = setInterval(() => wake?.(), 15_000);
    try {
      for (const l of recent) await sse.writeSSE({ event: 'log', data: JSON.stringify(l) });
      while (open) {
        if (!queue.length) {
          await new Promise<void>((r) => (wake = r));
          if (!queue.length && open) await sse.write(': keep-alive\n\n');
        }
        while (queue.length) await sse.writeSSE({ event: 'log', data: JSON.stringify(queue.shift()) });
      }
    } finally {
      clearInterval(ping);
      liveLogs.off(functionId, on);
    }
  });
}
