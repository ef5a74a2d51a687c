// The token of an `Authorization: Bearer <token>` header, for every place that reads one (Hono or plain Node).
const BEARER = /^Bearer\s+(\S+)\s*$/i;

export function bearerToken(header: string | undefined | null): string | undefined {
  return header ? BEARER.exec(header)?.[1] : undefined;
}
