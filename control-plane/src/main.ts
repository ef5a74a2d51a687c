// `cpub-server`: the control plane's command line (start, migrate, join-token, backup, restore, rotate-key, admin create). Parses flags, wires, runs.
import { Command } from 'commander';
import { addSettingOptions, flagsFrom } from '../../common/settings-options.js';
import { loadConfig, settings, ConfigError, type Config } from './config.js';
import { createLogger, outliveClosedOutput } from '../../common/logger.js';
import { createControlPlane } from './control-plane.js';
import { startTracing } from '../../common/tracing.js';
import { connectDb } from './db/connect.js';
import { migrateToLatest } from './db/migrate.js';
import { readPassword } from '../../common/read-password.js';
import { loadKeyMaterial } from './secrets/key-files.js';
import { VERSION } from '../../common/version.js';
import { createSealer } from './secrets/crypto.js';

function configFrom(opts: Record<string, unknown>, env: NodeJS.ProcessEnv): Config {
  return loadConfig(env, flagsFrom(opts, settings));
}

const withSettings = (cmd: Command, only?: (keyof typeof settings)[]) => addSettingOptions(cmd, settings, only);

function banner(url: string, database: string, registration: string): string {
  const post = (path: string, body: string) => `    curl -X POST ${url}${path} -H 'content-type: application/json' -d '${body}'`;
  return [
    '',
    `ContainerPub control plane: ${url}   (database: ${database})`,
    registration === 'open'
      ? `  Create an account (the first one becomes admin):\n${post('/api/auth/register', '{"email":"you@example.com","password":"at-least-8-chars"}')}`
      : '  Registration is closed: create accounts with `cpub-server admin create --email …`.',
    `  Log in (returns an access and a refresh token):\n${post('/api/auth/login', '{"email":"you@example.com","password":"at-least-8-chars"}')}`,
    `  Dashboard: ${url}/ui   API description: ${url}/openapi.json   Health: ${url}/health   Stop: Ctrl-C`,
    '',
    '',
  ].join('\n');
}

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const program = new Command('cpub-server')
    .description('ContainerPub control plane: the HTTP API, users and tokens, functions, the fleet.')
    .version(VERSION)
    .showHelpAfterError();

  withSettings(program.command('start').description('migrate the database and serve the API')).action(async (opts) => {
    outliveClosedOutput();
    const config = configFrom(opts, env);
    const log = createLogger(config.logLevel);
    const tracing = await startTracing('cpub-server', env);
    const cp = await createControlPlane(config, log);
    const url = await cp.start();
    log.info({ url, database: cp.db.location, registration: config.registration, tracing: tracing.on }, 'listening');
    process.stderr.write(banner(url, cp.db.location, config.registration));
    let stopping = false;
    const shutdown = (signal: string) => {
      if (stopping) return; // one stop, whatever signals follow
      stopping = true;
      log.info({ signal }, 'shutting down');
      void cp
        .stop()
        .then(() => tracing.stop())
        .then(() => process.exit(0));
    };
    for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => shutdown(signal));
  });

  withSettings(program.command('migrate').description('apply pending database migrations and exit'), ['dataDir', 'databaseUrl']).action(async (opts) => {
    const config = configFrom(opts, env);
    const db = connectDb(config);
    try {
      const applied = await migrateToLatest(db.kysely);
      console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
    } finally {
      await db.close();
    }
  });

  withSettings(program.command('join-token').description('print the token agents join this control plane with'), ['dataDir', 'joinToken']).action((opts) => {
    const config = configFrom(opts, env);
    console.log(loadKeyMaterial(config).joinToken);
  });

  withSettings(
    program
      .command('backup')
      .description('write a consistent snapshot (database, artifacts; key files only with --include-keys) to one .tar.gz, while the server runs')
      .requiredOption('--out <file>', 'the backup file to write (mode 0600)')
      .option('--include-keys', 'also the key files (jwt-secret, key.txt, join-token): keep the backup as safe as the keys'),
    ['dataDir', 'databaseUrl', 'jwtSecret', 'encryptionKey', 'joinToken'],
  ).action(async (opts) => {
    const config = configFrom(opts, env);
    const { backup } = await import('./maintenance/backup.js'); // tar and pg: loaded by the commands that use them
    const m = await backup(config, opts.out, { includeKeys: Boolean(opts.includeKeys) }, (line) => console.error(`  ${line}`));
    console.log(`backup written to ${opts.out}: ${m.dialect} database, ${m.artifacts} artifacts${m.includesKeys ? ', key files' : ''}`);
  });

  withSettings(
    program.command('restore').description('fill an empty data folder (or empty PostgreSQL database) from a backup file').argument('<file>', 'a file written by `cpub-server backup`'),
    ['dataDir', 'databaseUrl'],
  ).action(async (file: string, opts) => {
    const config = configFrom(opts, env);
    const { restore } = await import('./maintenance/backup.js');
    const m = await restore(config, file, (line) => console.error(`  ${line}`));
    console.log(`restored a ${m.dialect} backup of ${m.createdAt} into ${config.databaseUrl ? 'PostgreSQL' : config.dataDir}; start the server as usual (migrations run forward)`);
  });

  withSettings(
    program.command('rotate-key').description('re-seal every secret under the current CPUB_ENCRYPTION_KEY (older keys in CPUB_PREVIOUS_ENCRYPTION_KEYS), so an old key can be retired'),
    ['dataDir', 'databaseUrl', 'encryptionKey', 'previousEncryptionKeys'],
  ).action(async (opts) => {
    const config = configFrom(opts, env);
    const keys = loadKeyMaterial(config);
    const db = connectDb(config);
    try {
      await migrateToLatest(db.kysely);
      const { rotateKey } = await import('./maintenance/rotate-key.js');
      const r = await rotateKey(db.kysely, createSealer(keys.encryptionKey, keys.previousEncryptionKeys));
      console.log(`re-sealed ${r.resealed} value${r.resealed === 1 ? '' : 's'} under the current key (${r.current} already were); the previous keys can now be retired`);
    } finally {
      await db.close();
    }
  });

  const admin = program.command('admin').description('administrative tasks');
  withSettings(
    admin
      .command('create')
      .description('create an admin account (works with registration closed); the password is prompted for, or read from stdin')
      .requiredOption('--email <email>', 'email of the new admin')
      .option('--name <name>', 'display name'),
    ['dataDir', 'databaseUrl', 'jwtSecret', 'encryptionKey'],
  ).action(async (opts) => {
    const config = configFrom(opts, env);
    const password = await readPassword('Password for the new admin: ');
    const cp = await createControlPlane(config, createLogger('warn'));
    try {
      const user = await cp.auth.register({ email: opts.email, password, name: opts.name }, { ip: null }, true);
      console.log(`created admin ${user.email} (${user.id})`);
    } finally {
      await cp.stop();
    }
  });

  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`error: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
}
