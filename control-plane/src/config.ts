// The control plane's configuration: one zod schema, parsed once in main.ts from env and flags, then frozen.
import { z } from 'zod';
import { duration, parseSettings, SettingsError, type Parsed } from '../../common/settings.js';
import { parseAllow } from './async-calls/destinations.js';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' })
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const base64Key = z.string().refine((v) => Buffer.from(v, 'base64').length === 32 && /^[A-Za-z0-9+/=_-]+$/.test(v), {
  message: 'must be 32 random bytes, base64-encoded (e.g. `openssl rand -base64 32`)',
});

/** Each setting: its environment variable, its `cpub-server start` flag, and its schema. */
export const settings = {
  host: { env: 'CPUB_HOST', flag: 'host', help: 'address to listen on', schema: z.string().min(1).default('127.0.0.1') },
  port: {
    env: 'CPUB_PORT',
    flag: 'port',
    help: 'TCP port (0 picks a free one)',
    schema: z.coerce.number({ message: 'must be a number' }).int('must be an integer').min(0).max(65535).default(8080),
  },
  dataDir: { env: 'CPUB_DATA_DIR', flag: 'data-dir', help: 'data folder (SQLite file, keys, artifacts)', schema: z.string().min(1).default('./data') },
  databaseUrl: {
    env: 'DATABASE_URL',
    flag: 'database-url',
    help: 'postgres://… to use PostgreSQL; unset → SQLite in the data folder',
    schema: z
      .string()
      .regex(/^postgres(ql)?:\/\/.+/, 'must be a postgres:// or postgresql:// URL')
      .optional(),
  },
  jwtSecret: {
    env: 'CPUB_JWT_SECRET',
    flag: 'jwt-secret',
    help: 'HMAC secret for tokens (≥ 32 characters); unset → generated into the data folder',
    schema: z.string().min(32, 'must be at least 32 characters').optional(),
  },
  encryptionKey: {
    env: 'CPUB_ENCRYPTION_KEY',
    flag: 'encryption-key',
    help: 'AES-256 key for secrets at rest, base64; unset → key.txt in the data folder',
    schema: base64Key.optional(),
  },
  previousEncryptionKeys: {
    env: 'CPUB_PREVIOUS_ENCRYPTION_KEYS',
    flag: 'previous-encryption-keys',
    help: 'comma-separated older keys, still accepted for decryption during a key rotation',
    schema: z
      .string()
      .transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean))
      .pipe(z.array(base64Key))
      .optional(),
  },
  joinToken: {
    env: 'CPUB_JOIN_TOKEN',
    flag: 'join-token',
    help: 'token agents present to join; unset → generated into the data folder (see `cpub-server join-token`)',
    schema: z.string().min(16, 'must be at least 16 characters').optional(),
  },
  registration: {
    env: 'CPUB_REGISTRATION',
    flag: 'registration',
    help: 'open | closed',
    schema: z.enum(['open', 'closed'], { message: 'must be open or closed' }).default('open'),
  },
  publicUrl: { env: 'CPUB_PUBLIC_URL', flag: 'public-url', help: 'URL users reach this server at', schema: z.url({ message: 'must be an http(s) URL' }).optional() },
  logLevel: {
    env: 'CPUB_LOG_LEVEL',
    flag: 'log-level',
    help: 'fatal | error | warn | info | debug | trace | silent',
    schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  },
  tlsCert: { env: 'CPUB_TLS_CERT', flag: 'tls-cert', help: 'PEM certificate file; with --tls-key the server speaks HTTPS', schema: z.string().min(1).optional() },
  tlsKey: { env: 'CPUB_TLS_KEY', flag: 'tls-key', help: 'PEM private key file', schema: z.string().min(1).optional() },
  agentCa: {
    env: 'CPUB_AGENT_CA',
    flag: 'agent-ca',
    help: 'PEM file of the CA (or self-signed certificate) that agents serving gRPC over TLS are checked against; unset → system CAs',
    schema: z.string().min(1).optional(),
  },
  corsOrigins: {
    env: 'CPUB_CORS_ORIGINS',
    flag: 'cors-origins',
    help: 'comma-separated origins allowed by CORS; unset → CORS off',
    schema: z
      .string()
      .transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean))
      .pipe(z.array(z.url({ message: 'each origin must be a URL' })))
      .optional(),
  },
  trustProxy: {
    env: 'CPUB_TRUST_PROXY',
    flag: 'trust-proxy',
    help: 'take the client address from X-Forwarded-For (only behind a reverse proxy you run)',
    schema: bool.default(false),
  },
  bodyLimit: {
    env: 'CPUB_BODY_LIMIT',
    flag: 'body-limit',
    help: 'largest JSON request body, bytes',
    schema: z.coerce.number({ message: 'must be a number' }).int().min(1024).max(64 * 1024 * 1024).default(1024 * 1024),
  },
  metricsToken: {
    env: 'CPUB_METRICS_TOKEN',
    flag: 'metrics-token',
    help: 'bearer token a Prometheus scraper sends for GET /metrics (admins can always read it); at least 24 characters',
    schema: z.string().min(24, 'must be at least 24 characters').optional(),
  },
  executionRetention: {
    env: 'CPUB_EXECUTION_RETENTION',
    flag: 'execution-retention',
    help: 'how long execution records (with their logs) are kept when a function sets no executionRetention, e.g. 7d, 12h (the statistics are kept apart)',
    schema: duration.default(7 * 86_400_000),
  },
  traceUrl: {
    env: 'CPUB_TRACE_URL',
    flag: 'trace-url',
    help: 'a trace UI\'s page for one trace, with {traceId} where its id goes (e.g. http://jaeger:16686/trace/{traceId}): the dashboard links each execution to its trace',
    schema: z
      .url({ message: 'must be an http(s) URL' })
      .refine((u) => /^https?:/.test(u) && u.includes('{traceId}'), 'must be an http(s) URL with {traceId} in it')
      .optional(),
  },
  auditRetention: {
    env: 'CPUB_AUDIT_RETENTION',
    flag: 'audit-retention',
    help: 'how long the audit trail (who changed what, logins) is kept, e.g. 400d',
    schema: duration.default(400 * 86_400_000),
  },
  executionSampling: {
    env: 'CPUB_EXECUTION_SAMPLING',
    flag: 'execution-sampling',
    help: 'successful calls per second per function that get an execution record when a function sets no executionSampling (every error and cold start does; all count in the statistics); unset: every call',
    schema: z.coerce.number({ message: 'must be a number' }).int().min(0).max(1_000_000).optional(),
  },
  buildAgentWait: {
    env: 'CPUB_BUILD_AGENT_WAIT',
    flag: 'build-agent-wait',
    help: 'how long a new version waits for an agent to build it before its build fails, e.g. 60s',
    schema: duration.default(60_000),
  },
  purgeEvery: {
    env: 'CPUB_PURGE_EVERY',
    flag: 'purge-every',
    help: 'how often expired rows are purged (one replica at a time holds the job), e.g. 10m',
    schema: duration.default(10 * 60_000),
  },
  heartbeat: {
    env: 'CPUB_HEARTBEAT',
    flag: 'heartbeat',
    help: 'how often agents report on their Watch stream, e.g. 1s; a node is suspect after two missed beats',
    schema: duration.default(1000),
  },
  nodeTtl: {
    env: 'CPUB_NODE_TTL',
    flag: 'node-ttl',
    help: 'a node silent for this long is down (its calls go elsewhere), e.g. 10s',
    schema: duration.default(10_000),
  },
  artifactMaxBytes: {
    env: 'CPUB_ARTIFACT_MAX_BYTES',
    flag: 'artifact-max-bytes',
    help: 'largest function archive (.tar.gz) accepted, bytes; unpacked it may be 5× that, with 10,000 files at most',
    schema: z.coerce.number({ message: 'must be a number' }).int().min(1024).max(1024 * 1024 * 1024).default(50 * 1024 * 1024),
  },
  uploadIdleTimeout: {
    env: 'CPUB_UPLOAD_IDLE_TIMEOUT',
    flag: 'upload-idle-timeout',
    help: 'an upload that sends nothing for this long is closed with 408, e.g. 30s',
    schema: duration.default(30_000),
  },
  uploadTimeout: {
    env: 'CPUB_UPLOAD_TIMEOUT',
    flag: 'upload-timeout',
    help: 'an upload (body and archive check) must finish within this, or it is closed with 408, e.g. 2m',
    schema: duration.default(120_000),
  },
  asyncClaim: {
    env: 'CPUB_ASYNC_CLAIM',
    flag: 'async-claim',
    help: 'how long a replica holds an async call it runs without renewing its claim (renewed every third of it); a call whose replica died runs again after it, e.g. 30s',
    schema: duration.refine((ms) => ms >= 1000 && ms <= 600_000, 'between 1s and 10m').default(30_000),
  },
  alertEvery: {
    env: 'CPUB_ALERT_EVERY',
    flag: 'alert-every',
    help: 'how often the alert rules are evaluated (by one replica at a time), e.g. 5s',
    schema: duration.refine((ms) => ms >= 200 && ms <= 300_000, 'between 200ms and 5m').default(5000),
  },
  smtpUrl: {
    env: 'CPUB_SMTP_URL',
    flag: 'smtp-url',
    help: 'the SMTP server email alert channels send through, e.g. smtps://alerts%40example.com:password@smtp.example.com:465 (smtp:// upgrades with STARTTLS when the server offers it)',
    schema: z
      .string()
      .refine((u) => /^smtps?:\/\/[^/]+/.test(u), 'must be an smtp:// or smtps:// URL')
      .optional(),
  },
  smtpFrom: {
    env: 'CPUB_SMTP_FROM',
    flag: 'smtp-from',
    help: 'the From address of alert emails',
    schema: z.string().min(3).max(200).default('ContainerPub alerts <alerts@localhost>'),
  },
  destinationAllow: {
    env: 'CPUB_DESTINATION_ALLOW',
    flag: 'destination-allow',
    help: 'comma-separated addresses, CIDRs or host names async-call destinations and alert channels may reach although they are loopback, link-local or private (e.g. 10.0.0.0/8,hooks.internal)',
    schema: z
      .string()
      .transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean))
      .superRefine((list, ctx) => {
        try {
          parseAllow(list);
        } catch (err) {
          ctx.addIssue({ code: 'custom', message: (err as Error).message });
        }
      })
      .default([]),
  },
} as const;

export type Config = Parsed<typeof settings>;
export { SettingsError as ConfigError };

/**
 * Builds the configuration from environment variables and command-line flags (flags win).
 * Throws ConfigError naming every bad variable. Never reads process.env itself.
 */
export function loadConfig(env: Record<string, string | undefined>, flags: Record<string, string | undefined> = {}): Config {
  return parseSettings(settings, env, flags, (v) =>
    Boolean(v.tlsCert) !== Boolean(v.tlsKey) ? ['CPUB_TLS_CERT and CPUB_TLS_KEY (--tls-cert, --tls-key): set both or neither'] : [],
  );
}
