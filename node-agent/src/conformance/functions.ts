// The conformance function, per language: one function whose paths each do one thing the kit checks (kit.ts).
// A runtime for another language gets its own here, with the same paths and answers.

/** Paths: /echo, /status, /throw, /log, /env, /deadline, /sleep?ms, /whoami, /stream, /upload. */
export const CONFORMANCE_FUNCTIONS: Record<string, { files: Record<string, string> }> = {
  node: {
    files: {
      'index.mjs': `
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';

const canWrite = (path) => {
  try {
    writeFileSync(path, 'x');
    return true;
  } catch {
    return false;
  }
};

export default async (req, ctx) => {
  const url = new URL(req.url);
  switch (url.pathname) {
    case '/echo':
      return Response.json({ method: req.method, path: url.pathname, query: url.search.slice(1), headers: Object.fromEntries(req.headers), body: await req.text() });
    case '/status':
      return new Response('short and stout', { status: 418, headers: { 'x-teapot': 'yes' } });
    case '/throw':
      throw new Error('conformance failure');
    case '/log':
      console.log('conformance stdout');
      console.error('conformance stderr');
      ctx.log.info('conformance ctx');
      return new Response('logged');
    case '/env':
      return Response.json({ value: ctx.env.CONFORMANCE_VAR ?? null, platform: Object.keys(ctx.env).filter((k) => k.startsWith('CPUB_')) });
    case '/deadline':
      return Response.json({ deadline: ctx.deadline });
    case '/sleep':
      await new Promise((r) => setTimeout(r, Number(url.searchParams.get('ms') ?? 0)));
      return new Response('slept');
    case '/whoami':
      return Response.json({ uid: process.getuid(), root: canWrite('/app/.conformance'), tmp: canWrite('/tmp/.conformance') });
    case '/stream': {
      let i = 0;
      return new Response(new ReadableStream({
        async pull(c) {
          if (i) await new Promise((r) => setTimeout(r, 200));
          if (i === 3) return c.close();
          c.enqueue(new TextEncoder().encode('chunk ' + i++ + '\\n'));
        },
      }));
    }
    case '/upload': {
      const h = createHash('sha256');
      let bytes = 0;
      for await (const c of req.body) {
        bytes += c.length;
        h.update(c);
      }
      return Response.json({ bytes, sha: h.digest('hex') });
    }
    default:
      return new Response('no such conformance case', { status: 404 });
  }
};
`,
      'containerpub.json': JSON.stringify({ name: 'conformance', entry: 'index.mjs' }),
    },
  },
  python: {
    files: {
      'handler.py': `
import asyncio
import hashlib
import os
import sys

from cpub import Response


def can_write(path):
    try:
        with open(path, "w") as f:
            f.write("x")
        return True
    except OSError:
        return False


async def handler(request, ctx):
    p = request.path
    if p == "/echo":
        return {"method": request.method, "path": request.path, "query": request.query, "headers": request.headers, "body": await request.text()}
    if p == "/status":
        return Response("short and stout", status=418, headers={"x-teapot": "yes"})
    if p == "/throw":
        raise RuntimeError("conformance failure")
    if p == "/log":
        print("conformance stdout")
        print("conformance stderr", file=sys.stderr)
        ctx.log.info("conformance ctx")
        return Response("logged")
    if p == "/env":
        return {"value": ctx.env.get("CONFORMANCE_VAR"), "platform": [k for k in ctx.env if k.startswith("CPUB_")]}
    if p == "/deadline":
        return {"deadline": ctx.deadline}
    if p == "/sleep":
        ms = int(dict(x.split("=", 1) for x in request.query.split("&") if "=" in x).get("ms", "0"))
        await asyncio.sleep(ms / 1000)
        return Response("slept")
    if p == "/whoami":
        return {"uid": os.getuid(), "root": can_write("/app/.conformance"), "tmp": can_write("/tmp/.conformance")}
    if p == "/stream":
        async def chunks():
            for i in range(3):
                if i:
                    await asyncio.sleep(0.2)
                yield f"chunk {i}\\n"
        return Response(chunks())
    if p == "/upload":
        h = hashlib.sha256()
        n = 0
        async for c in request.stream():
            n += len(c)
            h.update(c)
        return {"bytes": n, "sha": h.hexdigest()}
    return Response("no such conformance case", status=404)
`,
      'containerpub.json': JSON.stringify({ name: 'conformance', entry: 'handler.py', runtime: 'python' }),
    },
  },
};
