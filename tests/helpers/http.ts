// A tiny JSON client for tests: every call returns status, headers and the parsed body.
export interface Reply<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export function client(base: string, defaults: Record<string, string> = {}) {
  async function call<T = any>(method: string, path: string, opts: { body?: unknown; token?: string; headers?: Record<string, string> } = {}): Promise<Reply<T>> {
    const headers: Record<string, string> = { ...defaults, ...opts.headers };
    if (opts.body !== undefined) headers['content-type'] ??= 'application/json';
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    const send = () =>
      fetch(base + path, {
        method,
        headers,
        body: opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body),
      });
    // A kept-alive connection the server closed at its idle timeout just as it was reused fails the request before
    // the server saw it: a GET (idempotent) is sent once more, as browsers and HTTP clients do.
    const res = await send().catch((err: Error) => (method === 'GET' && err.message === 'fetch failed' ? send() : Promise.reject(err)));
    const text = await res.text();
    let body: any = undefined;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = text;
    }
    return { status: res.status, headers: res.headers, body, text };
  }
  return {
    call,
    get: <T = any>(path: string, token?: string) => call<T>('GET', path, { token }),
    post: <T = any>(path: string, body?: unknown, token?: string, headers?: Record<string, string>) => call<T>('POST', path, { body, token, headers }),
    patch: <T = any>(path: string, body?: unknown, token?: string) => call<T>('PATCH', path, { body, token }),
    del: <T = any>(path: string, body?: unknown, token?: string) => call<T>('DELETE', path, { body, token }),
  };
}

export type Client = ReturnType<typeof client>;
