// `cpub-agent`: the node agent's command line: `start`, `status`, `drain`, `doctor`, `conformance`.
import { Command } from 'commander';
import { addSettingOptions, flagsFrom } from '../../common/settings-options.js';
import { agentSettings, loadAgentConfig, type AgentConfig } from './config.js';
import { SettingsError } from '../../common/settings.js';
import { detectHost } from './runtime/host.js';
import { PodmanService } from './runtime/podman-service.js';
import { PodmanRuntime } from './runtime/podman.js';
import { runDoctor } from './doctor.js';
import { runConformance } from './conformance/kit.js';
import { ensureRuntimeImage } from './images/runtime-image.js';
import { Runtimes } from './images/runtimes.js';
import { prepareIsolation } from './runtime/isolation.js';
import { join } from 'node:path';
import { startAgent } from './agent.js';
import { startTracing } from '../../common/tracing.js';
import { agentStatus, agentDrain, formatStatus } from './local-client.js';
import { createLogger, outliveClosedOutput } from '../../common/logger.js';
import { VERSION } from '../../common/version.js';

const withSettings = (cmd: Command, only: (keyof typeof agentSettings)[]) => addSettingOptions(cmd, agentSettings, only);

function configFrom(opts: Record<string, unknown>, env: NodeJS.ProcessEnv): AgentConfig {
  return loadAgentConfig(env, flagsFrom(opts, agentSettings));
}

const buildLog = (line: string) => process.stderr.write(`  build: ${line}\n`);

/**
 * Runs a one-off command's `work` on Podman — the socket given, or a service of its own in `folder` under the data
 * folder (so it may run beside an agent on the same folder), stopped after — and exits 1 when `work` says it failed
 * or throws (`FAIL  <what>` and the error).
 */
async function withPodman(config: AgentConfig, folder: string, what: string, work: (runtime: PodmanRuntime, host: ReturnType<typeof detectHost>, config: AgentConfig) => Promise<boolean>): Promise<void> {
  const host = detectHost();
  const service = config.podmanSocket ? undefined : new PodmanService(config.dataDir, host.ociRuntime, folder);
  let failed = true;
  try {
    const runtime = service ? await service.start() : new PodmanRuntime(config.podmanSocket!);
    failed = await work(runtime, host, config);
  } catch (err) {
    console.log(`FAIL  ${what.padEnd(16)} ${(err as Error).message}`);
  } finally {
    await service?.stop();
  }
  process.exitCode = failed ? 1 : 0;
}

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const program = new Command('cpub-agent').description('ContainerPub node agent: runs functions in Podman containers on this host.').version(VERSION).showHelpAfterError();

  withSettings(program.command('start').description('serve the Agent gRPC API (every call needs the node credential); with --server, join that control plane'), [
    'server',
    'joinToken',
    'name',
    'advertise',
    'listen',
    'dataDir',
    'podmanSocket',
    'maxMemory',
    'maxContainers',
    'runtimeBase',
    'runtimes',
    'idleTimeout',
    'keepAlive',
    'keepAliveMin',
    'keepAliveMax',
    'stemCells',
    'streamIdle',
    'tlsCert',
    'tlsKey',
    'credential',
    'logLevel',
  ]).action(async (opts) => {
    outliveClosedOutput();
    const config = configFrom(opts, env);
    const log = createLogger(config.logLevel, undefined, 'cpub-agent');
    const tracing = await startTracing('cpub-agent', env);
    const agent = await startAgent(config, log);
    const f = agent.facts;
    log.info({ address: agent.address, nodeId: f.nodeId, epoch: f.epoch, limitsEnforced: f.limitsEnforced, rootless: f.rootless, imageStore: f.storageDir, tracing: tracing.on }, 'listening');
    let stopping = false;
    const shutdown = (signal: string) => {
      // A second signal (Ctrl-C twice, or the group's signal after ours) must not cut the cleanup short.
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'shutting down');
      void agent.stop().then(async (removed) => {
        log.info({ removed }, `stopped; removed ${removed} container${removed === 1 ? '' : 's'}`);
        await tracing.stop();
        process.exit(0);
      });
    };
    for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => shutdown(signal));
  });

  withSettings(program.command('status').description('ask the running agent for its state, capacity and warm containers').option('--json', 'print JSON'), [
    'listen',
    'dataDir',
    'credential',
  ]).action(async (opts) => {
    const status = await agentStatus(configFrom(opts, env));
    console.log(opts.json ? JSON.stringify(status, null, 2) : formatStatus(status));
  });

  withSettings(program.command('drain').description('let in-flight calls finish and take no new ones; waits until drained'), ['listen', 'dataDir', 'credential']).action(
    async (opts) => {
      const r = await agentDrain(configFrom(opts, env));
      console.log(r.drained ? 'drained: no calls in flight, no new calls accepted' : `draining: ${r.inFlight} calls still in flight`);
    },
  );

  withSettings(
    program
      .command('doctor')
      .description('check Podman, the OCI runtime, cgroups, limits and isolation with a real probe container, and each runtime image (Node, Python) against the runtime contract (the conformance kit); exits non-zero on anything that blocks running functions'),
    ['dataDir', 'podmanSocket', 'runtimeBase', 'runtimes'],
  ).action((opts) =>
    withPodman(configFrom(opts, env), 'podman-doctor', 'podman', async (runtime, host, config) => {
      const report = await runDoctor(runtime, host, { dataDir: config.dataDir, runtimeBase: config.runtimeBase }, buildLog, (msg) => console.log(`NOTE  ${msg}`), { runtimes: config.runtimes });
      for (const c of report.checks) console.log(`${c.status.toUpperCase().padEnd(5)} ${c.name.padEnd(16)} ${c.detail}`);
      const failed = report.checks.some((c) => c.status === 'fail');
      console.log(failed ? 'functions cannot run on this host until the failures above are fixed' : report.limitsEnforced ? 'this host can run functions' : 'this host can run functions, but WITHOUT resource limits');
      return failed;
    }),
  );

  withSettings(
    program
      .command('conformance [image]')
      .description('check a runtime image against the runtime contract (docs/runtime-contract.md): the container becomes ready, answers, statuses, errors, logs, env, the deadline, isolation, streamed answers, streamed request bodies, and cold starts from a stem; exits non-zero when a rule fails. IMAGE: an image, or a runtime by name — node (the default), python, or one given with --runtime')
      .addHelpText('after', '\nExamples:\n  cpub-agent conformance\n  cpub-agent conformance python\n  cpub-agent conformance python-ml --runtime python-ml=registry.example.com/runtimes/python-ml:3.11\n  cpub-agent conformance localhost/containerpub/runtime-node:0123456789ab'),
    ['dataDir', 'podmanSocket', 'runtimeBase', 'runtimes'],
  ).action((image: string | undefined, opts) =>
    withPodman(configFrom(opts, env), 'podman-conformance', 'conformance', async (runtime, host, config) => {
      // A runtime by name (built or pulled here when missing), or any image.
      const name = image ?? 'node';
      const named = name === 'node' || name === 'python' || config.runtimes[name] !== undefined;
      const nodeImage = named && name === 'node' ? (await ensureRuntimeImage(runtime, { dataDir: config.dataDir, runtimeBase: config.runtimeBase }, buildLog)).tag : '';
      const ref = named ? await new Runtimes({ runtime, dataDir: config.dataDir, nodeImage, operator: config.runtimes }).imageFor(name, buildLog) : name;
      console.log(`conformance of ${ref}`);
      const results = await runConformance({ runtime, image: ref, dataDir: join(config.dataDir, 'cf'), isolation: prepareIsolation(config.dataDir, host.rootless), onRule: (r) => console.log(`${r.ok ? 'PASS' : 'FAIL'}  ${r.rule.padEnd(15)} ${r.detail}`) });
      const failed = results.filter((r) => !r.ok).length;
      console.log(failed ? `${ref} does not conform: ${failed} of ${results.length} rules failed` : `${ref} conforms: ${results.length} rules passed`);
      return failed > 0;
    }),
  );

  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof SettingsError) {
      console.error(`error: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
}
