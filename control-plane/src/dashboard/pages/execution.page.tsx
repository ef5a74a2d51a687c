/** @jsxImportSource hono/jsx */
// One call of a function: its status, timings, resources and log.
import type { FC } from 'hono/jsx';
import type { ExecutionView } from '../../../../common/api-types.js';
import { Badge, Notice, mib, when } from '../ui.js';
import { Stat } from './shared.js';

export const ExecutionPage: FC<{ e: ExecutionView; fnName: string }> = ({ e, fnName }) => (
  <>
    <p class="muted">
      <a href="/ui/functions">Functions</a> / <a href={`/ui/functions/${fnName}`}>{fnName}</a> /
    </p>
    <h1>
      Execution <span class="mono">{e.id.slice(0, 8)}</span> <Badge status={e.status} />
    </h1>
    <div class="grid">
      <Stat label="HTTP">{e.httpStatus}</Stat>
      <Stat label="duration">{`${e.durationMs} ms`}</Stat>
      <Stat label="cold start">{e.coldStart ? 'yes' : 'no'}</Stat>
      <Stat label="CPU">{`${e.cpuMs} ms`}</Stat>
      <Stat label="peak memory">{mib(e.peakMemoryBytes)}</Stat>
      <Stat label="version">v{e.version}</Stat>
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
