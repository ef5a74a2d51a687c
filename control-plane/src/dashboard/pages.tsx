/** @jsxImportSource hono/jsx */
// The dashboard's pages, as components of plain data: the routes (dashboard.routes.tsx) load it through the
// same services the API uses and pass it in.
import type { FC } from 'hono/jsx';
import type { FunctionView } from '../functions/functions.view.js';
import type { DeploymentView } from '../deployments/deployments.view.js';
import type { ExecutionView } from '../executions/executions.view.js';
import type { Stats, Bucket } from '../stats/stats.service.js';
import type { KeyView } from '../keys/keys.service.js';
import type { NodeView } from '../fleet/fleet.service.js';
import { ActionButton, Badge, BarChart, Form, Head, LineChart, Meter, Notice, Sparkline, mib, when } from './ui.js';

export const LoginPage: FC<{ csrf: string; error?: string | undefined; registerOpen: boolean; mode: 'login' | 'register'; next: string }> = ({ csrf, error, registerOpen, mode, next }) => (
  <section class="card narrow">
    <h1>{mode === 'login' ? 'Log in' : 'Create an account'}</h1>
    {error && <Notice kind="error">{error}</Notice>}
    <Form action={mode === 'login' ? '/ui/login' : '/ui/register'} csrf={csrf}>
      <input type="hidden" name="next" value={next} />
      <p>
        <label>
          Email
          <input name="email" type="email" autocomplete="username" required />
        </label>
      </p>
      <p>
        <label>
          Password
          <input name="password" type="password" autocomplete={mode === 'login' ? 'current-password' : 'new-password'} minlength={8} required />
        </label>
      </p>
      <button type="submit">{mode === 'login' ? 'Log in' : 'Create account'}</button>
    </Form>
    {registerOpen && (
      <p class="muted">{mode === 'login' ? <a href="/ui/register">Create an account</a> : <a href="/ui/login">I have an account</a>}</p>
    )}
  </section>
);

export interface FunctionRowView {
  fn: FunctionView;
  stats: Stats;
  hourly: number[];
  lastCall: string | null;
}

export const FunctionsPage: FC<{ csrf: string; rows: FunctionRowView[]; error?: string | undefined }> = ({ csrf, rows, error }) => (
  <>
    <h1>Functions</h1>
    {error && <Notice kind="error">{error}</Notice>}
    <section class="card">
      <table>
        <Head cols={['Name', 'Status', 'Version', 'Calls 24 h', 'Errors 24 h', 'Last call', 'Calls per hour']} />
        <tbody>
          {rows.length === 0 && (
            <tr>
              <td colspan={7} class="muted">
                No functions yet: create one below, then deploy it with <code>cpub deploy</code>.
              </td>
            </tr>
          )}
          {rows.map((r) => (
            <tr>
              <td>
                <a href={`/ui/functions/${r.fn.name}`}>{r.fn.name}</a>
              </td>
              <td>
                <Badge status={r.fn.status} />
              </td>
              <td class="num">{r.fn.activeVersion === null ? '—' : `v${r.fn.activeVersion}`}</td>
              <td class="num">{r.stats.invocations}</td>
              <td class="num">{r.stats.errors}</td>
              <td>{when(r.lastCall)}</td>
              <td>
                <Sparkline values={r.hourly} label={`${r.fn.name}: calls per hour, last 24 hours`} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
    <section class="card">
      <h2>Create a function</h2>
      <Form action="/ui/functions" csrf={csrf} class="row">
        <label>
          Name
          <input name="name" required pattern="[a-z][a-z0-9\-]{0,62}" placeholder="hello" />
        </label>
        <label>
          Who may call it
          <select name="auth">
            <option value="private">private (your token)</option>
            <option value="key">API key</option>
            <option value="public">public</option>
          </select>
        </label>
        <button type="submit">Create function</button>
      </Form>
    </section>
  </>
);

export interface FunctionPageData {
  fn: FunctionView;
  deployments: DeploymentView[];
  env: { key: string; value: string; secret: boolean; updatedAt: string }[];
  keys: KeyView[];
  stats: Stats;
  hourly: Bucket[];
  executions: ExecutionView[];
  statusFilter: string;
  notice?: { kind: 'ok' | 'error'; text: string } | undefined;
  newSecret?: { name: string; secret: string } | undefined;
  invoked?: { statusCode: number; headers: Record<string, string>; body: string; executionId: string; durationMs: number; coldStart: boolean } | { error: string; executionId?: string | undefined } | undefined;
  invokeForm?: { method: string; path: string; headers: string; body: string } | undefined;
}

const STATUSES = ['success', 'error', 'timeout', 'oom', 'crashed', 'rejected', 'agent_lost'];

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
      {d.notice && <Notice kind={d.notice.kind}>{d.notice.text}</Notice>}
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
        <div class="stat">
          calls<b>{d.stats.invocations}</b>
        </div>
        <div class="stat">
          errors<b>{d.stats.errors}</b>
        </div>
        <div class="stat">
          latency p50 / p95 / p99<b>{`${d.stats.latencyMs.p50} / ${d.stats.latencyMs.p95} / ${d.stats.latencyMs.p99} ms`}</b>
        </div>
        <div class="stat">
          cold starts<b>{d.stats.coldStarts}</b>
        </div>
        <div class="stat">
          CPU per call<b>{`${d.stats.avgCpuMs} ms`}</b>
        </div>
        <div class="stat">
          peak memory<b>{mib(d.stats.maxMemoryBytes)}</b>
        </div>
      </div>
      <section class="card">
        <BarChart
          title="Calls and errors per hour"
          legend={['ok', 'errors']}
          buckets={d.hourly.map((b) => ({ label: b.start.slice(11, 16), a: b.invocations - b.errors, b: b.errors }))}
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

      <h2>Invoke</h2>
      <section class="card">
        <Form action={`${base}/invoke`} csrf={csrf}>
          <div class="row">
            <label>
              Method
              <select name="method">
                {['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].map((m) => (
                  <option value={m} selected={m === form.method}>
                    {m}
                  </option>
                ))}
              </select>
            </label>
            <label class="grow">
              Path and query
              <input name="path" value={form.path} />
            </label>
          </div>
          <div class="row">
            <label class="grow">
              <span>
                Headers (one <code>Name: value</code> a line)
              </span>
              <textarea name="headers">{form.headers}</textarea>
            </label>
            <label class="grow">
              Body
              <textarea name="body">{form.body}</textarea>
            </label>
          </div>
          <button type="submit">Invoke</button>
        </Form>
        {d.invoked && 'error' in d.invoked && (
          <Notice kind="error">
            {d.invoked.error}
            {d.invoked.executionId && (
              <>
                {' '}
                — <a href={`/ui/executions/${d.invoked.executionId}`}>execution</a>
              </>
            )}
          </Notice>
        )}
        {d.invoked && !('error' in d.invoked) && (
          <div id="invoke-result">
            <p>
              <Badge status={d.invoked.statusCode < 400 ? 'success' : 'error'} /> HTTP {d.invoked.statusCode} in {d.invoked.durationMs} ms{d.invoked.coldStart ? ' (cold start)' : ''} —{' '}
              <a href={`/ui/executions/${d.invoked.executionId}`}>execution {d.invoked.executionId.slice(0, 8)}</a>
            </p>
            <pre>
              {Object.entries(d.invoked.headers)
                .map(([k, v]) => `${k}: ${v}`)
                .join('\n')}
            </pre>
            <pre id="invoke-body">{d.invoked.body}</pre>
          </div>
        )}
      </section>

      <h2>
        Live log <span class="muted" data-tail-state>
          connecting…
        </span>
      </h2>
      <pre class="tail" data-tail={`${base}/logs`} aria-live="polite"></pre>

      <h2>Recent executions</h2>
      <section class="card">
        <form method="get" action={base} class="row">
          <label>
            Status
            <select name="status">
              <option value="">all</option>
              {STATUSES.map((s) => (
                <option value={s} selected={s === d.statusFilter}>
                  {s}
                </option>
              ))}
            </select>
          </label>
          <button type="submit" class="secondary">
            Filter
          </button>
        </form>
        <table id="executions">
          <Head cols={['Started', 'Status', 'HTTP', 'Duration', 'Version', 'Trigger']} />
          <tbody>
            {d.executions.map((e) => (
              <tr>
                <td>
                  <a href={`/ui/executions/${e.id}`}>{when(e.startedAt)}</a>
                </td>
                <td>
                  <Badge status={e.status} />
                </td>
                <td class="num">{e.httpStatus}</td>
                <td class="num">{`${e.durationMs} ms${e.coldStart ? ' (cold)' : ''}`}</td>
                <td class="num">v{e.version}</td>
                <td>{e.trigger}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>

      <h2>Versions</h2>
      <section class="card">
        <table id="versions">
          <Head cols={['Version', 'Status', 'Digest', 'Deployed', '']} />
          <tbody>
            {d.deployments.map((v) => (
              <tr>
                <td class="num">
                  v{v.version} {v.active && <span class="badge good">active</span>}
                </td>
                <td>
                  <Badge status={v.status} />
                </td>
                <td class="mono">{v.digest.slice(0, 12)}</td>
                <td>
                  {when(v.createdAt)}
                  <br />
                  <a href={`${base}/versions/${v.version}/log`}>build log</a>
                </td>
                <td>
                  {v.status === 'ready' && !v.active && (
                    <ActionButton action={`${base}/rollback`} csrf={csrf} kind="secondary" label={`Roll back to v${v.version}`} fields={{ version: String(v.version) }} />
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>

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
            Max instances
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

      <h2>Environment</h2>
      <section class="card">
        <table id="env">
          <Head cols={['Key', 'Value', 'Kind', '']} />
          <tbody>
            {d.env.map((e) => (
              <tr>
                <td class="mono">{e.key}</td>
                <td class={e.secret ? 'mono secret' : 'mono'}>{e.secret ? '••••••••' : e.value}</td>
                <td>{e.secret ? 'secret' : 'var'}</td>
                <td>
                  <ActionButton action={`${base}/env/unset`} csrf={csrf} kind="danger" label="Unset" ariaLabel={`Unset ${e.key}`} fields={{ key: e.key }} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <Form action={`${base}/env`} csrf={csrf} class="row">
          <label>
            Key
            <input name="key" required pattern="[A-Za-z_][A-Za-z0-9_]*" />
          </label>
          <label>
            Value
            <input name="value" />
          </label>
          <label class="check">
            <input type="checkbox" name="secret" value="1" /> secret
          </label>
          <button type="submit">Set</button>
        </Form>
      </section>

      <h2>API keys</h2>
      <section class="card">
        {d.newSecret && (
          <Notice kind="ok">
            Key <b>{d.newSecret.name}</b>: <code id="new-secret">{d.newSecret.secret}</code> — copy it now, it is not shown again.
          </Notice>
        )}
        <table id="keys">
          <Head cols={['Name', 'Prefix', 'Created', 'Expires', 'Last used', '']} />
          <tbody>
            {d.keys.map((k) => (
              <tr>
                <td>{k.name}</td>
                <td class="mono">{k.prefix}</td>
                <td>{when(k.createdAt)}</td>
                <td>{when(k.expiresAt)}</td>
                <td>{when(k.lastUsedAt)}</td>
                <td>
                  {k.revokedAt ? (
                    <span class="muted">revoked</span>
                  ) : (
                    <>
                      <ActionButton action={`${base}/keys/${k.id}/roll`} csrf={csrf} kind="secondary" label="Roll" />{' '}
                      <ActionButton action={`${base}/keys/${k.id}/revoke`} csrf={csrf} kind="danger" label="Revoke" />
                    </>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <Form action={`${base}/keys`} csrf={csrf} class="row">
          <label>
            Name
            <input name="name" required maxlength={100} />
          </label>
          <label>
            Expires
            <select name="expires">
              {['30d', '7d', '1d', '1h', 'never'].map((x) => (
                <option value={x}>{x}</option>
              ))}
            </select>
          </label>
          <button type="submit">Create key</button>
        </Form>
      </section>
    </>
  );
};

export const ExecutionPage: FC<{ e: ExecutionView; fnName: string }> = ({ e, fnName }) => (
  <>
    <p class="muted">
      <a href="/ui/functions">Functions</a> / <a href={`/ui/functions/${fnName}`}>{fnName}</a> /
    </p>
    <h1>
      Execution <span class="mono">{e.id.slice(0, 8)}</span> <Badge status={e.status} />
    </h1>
    <div class="grid">
      <div class="stat">
        HTTP<b>{e.httpStatus}</b>
      </div>
      <div class="stat">
        duration<b>{`${e.durationMs} ms`}</b>
      </div>
      <div class="stat">
        cold start<b>{e.coldStart ? 'yes' : 'no'}</b>
      </div>
      <div class="stat">
        CPU<b>{`${e.cpuMs} ms`}</b>
      </div>
      <div class="stat">
        peak memory<b>{mib(e.peakMemoryBytes)}</b>
      </div>
      <div class="stat">
        version<b>v{e.version}</b>
      </div>
    </div>
    <section class="card">
      <h2>Request</h2>
      <p class="mono">
        {e.request.method} {e.request.path} ({e.request.bytes} bytes) via {e.trigger} at {when(e.startedAt)} on node {e.nodeId ?? '—'}
      </p>
      {e.error && <Notice kind="error">{e.error}</Notice>}
      <h2>Timings (ms)</h2>
      <table>
        <tbody>
          {Object.entries(e.timings).map(([k, v]) => (
            <tr>
              <th>{k}</th>
              <td class="num">{String(v)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>Logs{e.logsTruncated ? ' (truncated)' : ''}</h2>
      <pre id="execution-logs">{(e.logs ?? []).map((l) => `${new Date(l.atMs).toISOString().slice(11, 23)} ${l.level.padEnd(5)} ${l.message}`).join('\n') || '(no output)'}</pre>
    </section>
  </>
);

export const FleetPage: FC<{ csrf: string; nodes: NodeView[]; alert: string | null; notice?: { kind: 'ok' | 'error'; text: string } | undefined }> = ({ csrf, nodes, alert, notice }) => (
  <>
    <h1>Fleet</h1>
    {alert && <Notice kind="error">{alert}</Notice>}
    {notice && <Notice kind={notice.kind}>{notice.text}</Notice>}
    <section class="card">
      <table class="fleet" id="nodes">
        <Head cols={['Node', 'Status', 'Epoch', 'Last heartbeat', 'Memory reserved', 'Containers', 'Warm', 'Limits', '']} />
        <tbody>
          {nodes.map((n) => (
            <tr>
              <td>
                {n.name}
                <br />
                <span class="muted mono">{n.advertise}</span>
              </td>
              <td>
                <Badge status={n.status} />
              </td>
              <td class="mono">{n.epoch?.slice(0, 8) ?? '—'}</td>
              <td>{when(n.lastHeartbeatAt)}</td>
              <td>
                <Meter used={n.usage.memoryReservedBytes} total={n.capacity.memoryBytes} label={`${n.name} memory reserved`} />
                <br />
                <span class="muted">{`${mib(n.usage.memoryReservedBytes)} of ${mib(n.capacity.memoryBytes)}`}</span>
              </td>
              <td>
                <Meter used={n.usage.containers} total={n.capacity.maxContainers} label={`${n.name} containers`} />
                <br />
                <span class="muted">{`${n.usage.containers} of ${n.capacity.maxContainers}`}</span>
              </td>
              <td class="num">{n.warm.reduce((s, w) => s + w.idle + w.busy, 0)}</td>
              <td>{n.limitsEnforced ? <span class="badge good">enforced</span> : <span class="badge bad">not enforced</span>}</td>
              <td>
                {n.status === 'draining' || n.status === 'drained' ? (
                  <ActionButton action={`/ui/fleet/${n.id}/undrain`} csrf={csrf} kind="secondary" label="Undrain" ariaLabel={`Undrain ${n.name}`} />
                ) : (
                  <ActionButton action={`/ui/fleet/${n.id}/drain`} csrf={csrf} kind="danger" label="Drain" ariaLabel={`Drain ${n.name}`} />
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  </>
);

export const AccountPage: FC<{ csrf: string; email: string; name: string; notice?: { kind: 'ok' | 'error'; text: string } | undefined }> = ({ csrf, email, name, notice }) => (
  <>
    <h1>Account</h1>
    {notice && <Notice kind={notice.kind}>{notice.text}</Notice>}
    <section class="card">
      <p>
        Signed in as <b>{email}</b>
      </p>
      <Form action="/ui/account/name" csrf={csrf} class="row">
        <label>
          Name
          <input name="name" value={name} maxlength={200} />
        </label>
        <button type="submit">Save</button>
      </Form>
    </section>
    <section class="card">
      <h2>Change password</h2>
      <p class="muted">Every session of this account (CLI and browsers) is signed out when the password changes.</p>
      <Form action="/ui/account/password" csrf={csrf}>
        <div class="row">
          <label>
            Current password
            <input name="currentPassword" type="password" autocomplete="current-password" required />
          </label>
          <label>
            New password
            <input name="newPassword" type="password" autocomplete="new-password" minlength={8} required />
          </label>
          <button type="submit">Change password</button>
        </div>
      </Form>
    </section>
  </>
);

export const NotFoundPage: FC<{ what: string; title?: string }> = ({ what, title = 'Not found' }) => (
  <section class="card">
    <h1>{title}</h1>
    <p>{what}</p>
    <p>
      <a href="/ui/functions">Back to your functions</a>
    </p>
  </section>
);
