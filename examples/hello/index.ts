// A function: a web-standard handler. `ctx` has the env, a logger, the invocation id, the deadline and its
// AbortSignal, and the function's name and version.
interface Context {
  invocationId: string;
  function: { name: string; version: number };
  log: { info(...args: unknown[]): void };
}

export default async function hello(request: Request, ctx: Context): Promise<Response> {
  const name = new URL(request.url).searchParams.get('name') ?? 'world';
  ctx.log.info(`greeting ${name}`);
  return Response.json({ message: `Hello, ${name}!`, function: ctx.function, invocationId: ctx.invocationId });
}
