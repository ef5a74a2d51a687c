// Reads a Server-Sent Events response (build logs, live function logs) event by event.
import { createParser, type EventSourceMessage } from 'eventsource-parser';

export async function* readEvents(res: Response): AsyncGenerator<EventSourceMessage> {
  if (!res.body) return;
  const queue: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (e) => void queue.push(e) });
  const decoder = new TextDecoder();
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    parser.feed(decoder.decode(chunk, { stream: true }));
    while (queue.length) yield queue.shift()!;
  }
}
