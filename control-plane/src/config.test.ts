// Table-driven cases for the configuration schema: defaults, each variable's parsing, and errors naming the variable.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadConfig, ConfigError } from './config.js';

const KEY = Buffer.alloc(32, 7).toString('base64');

test('defaults', () => {
  const c = loadConfig({});
  assert.is(c.host, '127.0.0.1');
  assert.is(c.port, 8080);
  assert.is(c.dataDir, './data');
  assert.is(c.databaseUrl, undefined);
  assert.is(c.registration, 'open');
  assert.is(c.logLevel, 'info');
  assert.is(c.trustProxy, false);
  assert.ok(Object.isFrozen(c));
});

test('values from env, flags win over env', () => {
  const c = loadConfig(
    { CPUB_PORT: '9000', CPUB_HOST: '0.0.0.0', DATABASE_URL: 'postgres://u:p@db/cpub', CPUB_REGISTRATION: 'closed', CPUB_ENCRYPTION_KEY: KEY, CPUB_CORS_ORIGINS: 'https://a.example, https://b.example', CPUB_TRUST_PROXY: 'true' },
    { port: '9100' },
  );
  assert.is(c.port, 9100);
  assert.is(c.host, '0.0.0.0');
  assert.is(c.databaseUrl, 'postgres://u:p@db/cpub');
  assert.is(c.registration, 'closed');
  assert.is(c.encryptionKey, KEY);
  assert.equal(c.corsOrigins, ['https://a.example', 'https://b.example']);
  assert.is(c.trustProxy, true);
});

test('an empty variable counts as unset', () => {
  assert.is(loadConfig({ CPUB_PORT: '' }).port, 8080);
});

const bad: [Record<string, string>, string][] = [
  [{ CPUB_PORT: 'eighty' }, 'CPUB_PORT'],
  [{ CPUB_PORT: '70000' }, 'CPUB_PORT'],
  [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL'],
  [{ CPUB_JWT_SECRET: 'short' }, 'CPUB_JWT_SECRET'],
  [{ CPUB_ENCRYPTION_KEY: 'c2hvcnQ=' }, 'CPUB_ENCRYPTION_KEY'],
  [{ CPUB_REGISTRATION: 'maybe' }, 'CPUB_REGISTRATION'],
  [{ CPUB_PUBLIC_URL: 'not a url' }, 'CPUB_PUBLIC_URL'],
  [{ CPUB_LOG_LEVEL: 'loud' }, 'CPUB_LOG_LEVEL'],
  [{ CPUB_TRUST_PROXY: 'perhaps' }, 'CPUB_TRUST_PROXY'],
  [{ CPUB_TLS_CERT: '/x.pem' }, 'CPUB_TLS_KEY'],
  [{ CPUB_CORS_ORIGINS: 'nope' }, 'CPUB_CORS_ORIGINS'],
  [{ CPUB_PREVIOUS_ENCRYPTION_KEYS: `${KEY},bad` }, 'CPUB_PREVIOUS_ENCRYPTION_KEYS'],
];

for (const [env, name] of bad) {
  test(`bad ${Object.keys(env)[0]} names ${name}`, () => {
    try {
      loadConfig(env);
      assert.unreachable('accepted');
    } catch (err) {
      assert.instance(err, ConfigError);
      assert.match((err as Error).message, name);
    }
  });
}

test('every problem is reported at once', () => {
  try {
    loadConfig({ CPUB_PORT: 'x', CPUB_REGISTRATION: 'y' });
    assert.unreachable();
  } catch (err) {
    assert.equal((err as ConfigError).problems.length, 2);
  }
});

test.run();
