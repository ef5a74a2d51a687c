/** @jsxImportSource hono/jsx */
// One function's page: its URL, last 24 hours, invoke form, live log, executions, versions, settings, env
// and keys (the longer sections have files of their own, function-*.section.tsx).
import type { FC } from 'hono/jsx';
import type { CanaryView, ScalingView, DeadLetterView, DeploymentView, ScheduleView, AliasView, EnvEntry, ExecutionListItem, FunctionView, KeyView, StatsBucket, StatsSummary } from '../../../../common/api-types.js';
import { Badge, BarChart, Form, LineChart, mib } from '../ui.js';
import { Flash, Stat, type PageNotice } from './shared.js';
import { InvokeSection, type InvokeFormValues, type Invoked } from './function-invoke.section.js';
import { ExecutionsSection } from './function-executions.section.js';
import { VersionsSection } from './function-versions.section.js';
import { EnvSection } from './function-env.section.js';
import { KeysSection } from './function-keys.section.js';
import { DeadLettersSection } from './function-dead-letters.section.js';
import { SchedulesSection } from './function-schedules.section.js';
import { AliasesSection } from './function-aliases.section.js';
import { CanariesSection, ScalingSection } from './function-scaling.section.js';

export interface FunctionPageData {
  fn: FunctionView;
  deployments: DeploymentView[];
  env: EnvEntry[];
  keys: KeyView[];
  deadLetters: DeadLetterView[];
  schedules: ScheduleView[];
  aliases: AliasView[];
  scaling: ScalingView;
  canaries: CanaryView[];
  stats: StatsSummary;
  hourly: StatsBucket[];
  executions: ExecutionListItem[];
  statusFilter: string;
  notice?: PageNotice | undefined;
  newSecret?: { name: string; secret: string } | undefined;
  invoked?: Invoked | undefined;
  invokeForm?: InvokeFormValues | undefined;
}

export const FunctionPage: FC<{ csrf: string; d: FunctionPageData }> = ({ csrf, d }) => {
  const { fn } = d;
  const base = `/ui/functions/${fn.name}`;
  const form = d.invokeForm ?? { method: 'GET', path: '/', headers: '', body: '' };
  return (
    <>
      <p class="muted">
        <a href="/ui/functions">Functions</a> /
      </p>
      <h1>
        {fn.name} <Badge status={fn.status} />
      </h1>
      <Flash notice={d.notice} />
      <section class="card">
        <div class="copy">
          <span>URL</span>
          <code id="fn-url">{fn.url}</code>
          <button type="button" class="secondary" data-copy={fn.url}>
            Copy
          </button>
          <span class="muted">
            auth: <b id="fn-auth">{fn.auth}</b> · active version: <b>{fn.activeVersion === null ? 'none' : `v${fn.activeVersion}`}</b>
          </span>
        </div>
      </section>

      <h2>Last 24 hours</h2>
      <div class="grid">
        <Stat label="calls">{d.stats.invocations}</Stat>
        <Stat label="errors">{d.stats.errors}</Stat>
        <Stat label="latency p50 / p95 / p99">{`${d.stats.latencyMs.p50} / ${d.stats.latencyMs.p95} / ${d.stats.latencyMs.p99} ms`}</Stat>
        <Stat label="cold starts">{d.stats.coldStarts}</Stat>
        <Stat label="async attempts / retries">{`${d.stats.asyncAttempts} / ${d.stats.retries}`}</Stat>
        <Stat label="CPU per call">{`${d.stats.avgCpuMs} ms`}</Stat>
        <Stat label="peak memory">{mib(d.stats.maxMemoryBytes)}</Stat>
      </div>
      <section class="card">
        <BarChart
          title="Calls and errors per hour"
          legend={['ok', 'errors']}
          buckets={d.hourly.map((b) => ({ label: b.start.slice(11, 16), a: b.invocations - b.errors, b: b.errors }))}
        />
        <BarChart
          title="Queued calls per hour: first attempts and retries"
          legend={['first attempt', 'retry']}
          buckets={d.hourly.map((b) => ({ label: b.start.slice(11, 16), a: b.asyncAttempts - b.retries, b: b.retries }))}
        />
        <BarChart title="Warm and cold starts per hour" legend={['warm', 'cold start']} buckets={d.hourly.map((b) => ({ label: b.start.slice(11, 16), a: b.invocations - b.coldStarts, b: b.coldStarts }))} />
        <LineChart
          title="Latency per hour (ms): p50, p95, p99"
          labels={d.hourly.map((b) => b.start.slice(11, 16))}
          series={(['p50', 'p95', 'p99'] as const).map((p) => ({ name: p, values: d.hourly.map((b) => (b.invocations ? b.latencyMs[p] : null)) }))}
        />
        <LineChart title="CPU per call per hour (ms, mean)" labels={d.hourly.map((b) => b.start.slice(11, 16))} series={[{ name: 'CPU', values: d.hourly.map((b) => (b.invocations ? b.avgCpuMs : null)) }]} />
        <LineChart
          title="Peak memory per hour"
          labels={d.hourly.map((b) => b.start.slice(11, 16))}
          series={[{ name: 'memory', values: d.hourly.map((b) => (b.invocations ? b.maxMemoryBytes : null)) }]}
          unit={mib}
        />
      </section>

      <InvokeSection csrf={csrf} base={base} form={form} invoked={d.invoked} />

      <h2>
        Live log <span class="muted" data-tail-state>
          connecting…
        </span>
      </h2>
      <pre class="tail" data-tail={`${base}/logs`} aria-live="polite"></pre>

      <ExecutionsSection base={base} executions={d.executions} statusFilter={d.statusFilter} />

      <DeadLettersSection csrf={csrf} base={base} deadLetters={d.deadLetters} />

      <SchedulesSection csrf={csrf} base={base} schedules={d.schedules} />

      <VersionsSection csrf={csrf} base={base} deployments={d.deployments} />

      <AliasesSection csrf={csrf} base={base} aliases={d.aliases} url={d.fn.url} />

      <CanariesSection csrf={csrf} base={base} canaries={d.canaries} />

      <ScalingSection csrf={csrf} base={base} scaling={d.scaling} />

      <h2>Settings</h2>
      <section class="card">
        <Form action={`${base}/settings`} csrf={csrf} class="row">
          <label>
            Memory (MB)
            <input name="memoryMb" type="number" min={64} max={4096} value={String(fn.memoryMb)} />
          </label>
          <label>
            CPUs
            <input name="cpus" type="number" min={0.1} max={8} step={0.1} value={String(fn.cpus)} />
          </label>
          <label>
            Timeout (ms)
            <input name="timeoutMs" type="number" min={100} max={900000} value={String(fn.timeoutMs)} />
          </label>
          <label>
            Concurrency
            <input name="concurrency" type="number" min={1} max={1000} value={String(fn.concurrency)} />
          </label>
          <label>
            Max instances (fleet)
            <input name="maxInstances" type="number" min={1} max={100} value={String(fn.maxInstances)} />
          </label>
          <label>
            Auth
            <select name="auth">
              {['private', 'key', 'public'].map((a) => (
                <option value={a} selected={a === fn.auth}>
                  {a}
                </option>
              ))}
            </select>
          </label>
          <label>
            Network
            <select name="network">
              {['none', 'egress'].map((a) => (
                <option value={a} selected={a === fn.network}>
                  {a}
                </option>
              ))}
            </select>
          </label>
          <button type="submit">Save settings</button>
        </Form>
      </section>

      <EnvSection csrf={csrf} base={base} env={d.env} />

      <KeysSection csrf={csrf} base={base} keys={d.keys} newSecret={d.newSecret} />
    </>
  );
};
