// The CLI's only way to the control plane: the public HTTP API. On a 401 it refreshes once (storing the
// rotated tokens) and retries; problems become errors carrying the server's title, code and detail.
import { readConfig, writeConfig, type CliConfig } from './config-store.js';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly title: string,
    readonly detail: string,
  ) {
    super(`${title} — ${detail}`);
  }
}

export class ApiClient {
  private config: CliConfig;

  constructor(
    private readonly env: NodeJS.ProcessEnv,
    serverFlag?: string,
  ) {
    this.config = readConfig(env);
    const server = serverFlag ?? env.CPUB_SERVER ?? this.config.server;
    if (!server) throw new ApiError(0, 'no_server', 'no server', 'pass --server URL, set CPUB_SERVER, or log in first');
    this.config.server = server.replace(/\/+$/, '');
  }

  get server(): string {
    return this.config.server!;
  }

  saveTokens(tokens: { accessToken?: string | undefined; refreshToken?: string | undefined; email?: string | undefined }): void {
    this.config = { ...this.config, ...tokens };
    writeConfig(this.env, this.config);
  }

  forgetTokens(): void {
    this.config = { server: this.config.server };
    writeConfig(this.env, this.config);
  }

  get refreshToken(): string | undefined {
    return this.config.refreshToken;
  }

  async request<T>(method: string, path: string, body?: unknown, auth = true): Promise<T> {
    let res = await this.send(method, path, body, auth);
    if (res.status === 401 && auth && !this.env.CPUB_TOKEN && this.config.refreshToken) {
      const refreshed = await this.send('POST', '/api/auth/refresh', { refreshToken: this.config.refreshToken }, false);
      if (!refreshed.ok) throw new ApiError(401, 'session_expired', 'not logged in', 'your session has ended; run `cpub login`');
      this.saveTokens((await refreshed.json()) as { accessToken: string; refreshToken: string });
      res = await this.send(method, path, body, auth);
    }
    const text = await res.text();
    const data = text ? JSON.parse(text) : undefined;
    if (!res.ok) {
      const p = (data ?? {}) as { code?: string; title?: string; detail?: string };
      throw new ApiError(res.status, p.code ?? 'http_error', p.title ?? `HTTP ${res.status}`, p.detail ?? res.statusText);
    }
    return data as T;
  }

  private send(method: string, path: string, body: unknown, auth: boolean): Promise<Response> {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    const token = this.env.CPUB_TOKEN ?? this.config.accessToken;
    if (auth && token) headers.authorization = `Bearer ${token}`;
    return fetch(this.server + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) }).catch((err: Error) => {
      throw new ApiError(0, 'unreachable', 'cannot reach the server', `${this.server}: ${(err.cause as Error)?.message ?? err.message}`);
    });
  }
}
