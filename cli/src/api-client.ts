// The CLI's only way to the control plane: the public HTTP API. On a 401 it refreshes once (storing the
// rotated tokens) and retries; problems become errors carrying the server's title, code and detail.
import { readConfig, writeConfig, type CliConfig } from './config-store.js';
import type { ProblemBody, TokenPair } from '../../common/api-types.js';

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

export interface SendOptions {
  /** A JSON body, or raw bytes with their content type. */
  body?: unknown;
  raw?: { bytes: Uint8Array; contentType: string; onProgress?: (sent: number) => void };
  auth?: boolean;
  /** More request headers (e.g. Prefer). */
  headers?: Record<string, string>;
}

export class ApiClient {
  private config: CliConfig;
  /** One refresh at a time: a refresh token works once, so concurrent 401s wait for the same one. */
  private refreshing: Promise<void> | undefined;

  constructor(
    private readonly env: NodeJS.ProcessEnv,
    serverFlag?: string,
  ) {
    this.config = readConfig(env);
    const server = serverFlag ?? env.CPUB_SERVER ?? this.config.server;
    if (!server) throw new ApiError(0, 'no_server', 'no server', 'pass --server URL, set CPUB_SERVER, or run `cpub login --server URL` first');
    this.config.server = server.replace(/\/+$/, '');
  }

  get server(): string {
    return this.config.server!;
  }

  saveTokens(tokens: { accessToken?: string | undefined; refreshToken?: string | undefined; email?: string | undefined }): void {
    this.config = { ...this.config, ...tokens };
    writeConfig(this.env, this.config);
  }

  /** The team commands work in from now on (undefined: the personal team). */
  saveTeam(team: string | undefined): void {
    this.config = { ...this.config, team };
    writeConfig(this.env, this.config);
  }

  get team(): string | undefined {
    return this.env.CPUB_TEAM ?? this.config.team;
  }

  forgetTokens(): void {
    this.config = { server: this.config.server };
    writeConfig(this.env, this.config);
  }

  get refreshToken(): string | undefined {
    return this.config.refreshToken;
  }

  /** A JSON call: the parsed answer, or an ApiError from the problem the server sent. */
  async request<T>(method: string, path: string, body?: unknown, auth = true): Promise<T> {
    return this.json<T>(await this.send(method, path, { body, auth }));
  }

  /** Parses an answer: its JSON on 2xx, else the problem as an ApiError. */
  async json<T>(res: Response): Promise<T> {
    const text = await res.text();
    let data: unknown;
    try {
      data = text ? JSON.parse(text) : undefined;
    } catch {
      if (res.ok) throw new ApiError(res.status, 'bad_response', 'unexpected answer', `${this.server} answered ${res.status} with something other than JSON — is it a ContainerPub server?`);
    }
    if (!res.ok) {
      const p = (data ?? {}) as Partial<ProblemBody>;
      throw new ApiError(res.status, p.code ?? 'http_error', p.title ?? `HTTP ${res.status}`, p.detail ?? (text.slice(0, 200) || res.statusText));
    }
    return data as T;
  }

  /** Any call, answered as the Response (streams, uploads); refreshed and retried once on a 401. */
  async send(method: string, path: string, opts: SendOptions = {}): Promise<Response> {
    const auth = opts.auth ?? true;
    let res = await this.once(method, path, opts, auth);
    if (res.status === 401 && auth && !this.env.CPUB_TOKEN && this.config.refreshToken) {
      await res.body?.cancel();
      await (this.refreshing ??= this.refresh().finally(() => (this.refreshing = undefined)));
      res = await this.once(method, path, opts, auth);
    }
    if (res.status === 401 && auth && !this.env.CPUB_TOKEN && !this.config.accessToken) {
      await res.body?.cancel();
      throw new ApiError(401, 'not_logged_in', 'not logged in', 'run `cpub login` (or set CPUB_TOKEN)');
    }
    return res;
  }

  private async refresh(): Promise<void> {
    // Another cpub process may have refreshed already (its rotated token is on disk): use that one.
    const saved = readConfig(this.env);
    if (saved.refreshToken && saved.refreshToken !== this.config.refreshToken && saved.server === this.config.server) {
      this.config = { ...this.config, accessToken: saved.accessToken, refreshToken: saved.refreshToken };
      return;
    }
    const refreshed = await this.once('POST', '/api/auth/refresh', { body: { refreshToken: this.config.refreshToken } }, false);
    const tokens = refreshed.ok ? ((await refreshed.json().catch(() => undefined)) as Partial<TokenPair> | undefined) : undefined;
    if (!tokens?.accessToken || !tokens.refreshToken) {
      await refreshed.body?.cancel().catch(() => {});
      throw new ApiError(401, 'session_expired', 'not logged in', 'your session has ended; run `cpub login`');
    }
    this.saveTokens({ accessToken: tokens.accessToken, refreshToken: tokens.refreshToken });
  }

  private once(method: string, path: string, opts: SendOptions, auth: boolean): Promise<Response> {
    const headers: Record<string, string> = { ...opts.headers };
    let body: BodyInit | undefined;
    if (opts.raw) {
      headers['content-type'] = opts.raw.contentType;
      headers['content-length'] = String(opts.raw.bytes.length);
      body = progressStream(opts.raw.bytes, opts.raw.onProgress);
    } else if (opts.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(opts.body);
    }
    const token = this.env.CPUB_TOKEN || this.config.accessToken;
    if (auth && token) headers.authorization = `Bearer ${token}`;
    // The team the command works in: CPUB_TEAM, else the one `cpub team switch` saved (none: the personal team).
    const team = this.env.CPUB_TEAM ?? this.config.team;
    if (auth && team && !headers['cpub-team']) headers['cpub-team'] = team;
    return fetch(this.server + path, { method, headers, body, ...(opts.raw ? { duplex: 'half' } : {}) } as RequestInit).catch((err: Error) => {
      throw new ApiError(0, 'unreachable', 'cannot reach the server', `${this.server}: ${(err.cause as Error)?.message ?? err.message}`);
    });
  }
}

/** The bytes as a stream that reports how much the connection has taken. */
function progressStream(bytes: Uint8Array, onProgress?: (sent: number) => void): ReadableStream<Uint8Array> {
  const CHUNK = 64 * 1024;
  let offset = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= bytes.length) {
        onProgress?.(bytes.length);
        return controller.close();
      }
      const end = Math.min(bytes.length, offset + CHUNK);
      controller.enqueue(bytes.subarray(offset, end));
      offset = end;
      onProgress?.(offset);
    },
  });
}
