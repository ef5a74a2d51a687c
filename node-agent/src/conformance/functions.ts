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
};
