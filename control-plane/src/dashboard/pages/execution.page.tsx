/** @jsxImportSource hono/jsx */
// One call of a function: its status, timings, resources and log; or a queued call, its attempts and answer.
import type { FC } from 'hono/jsx';
import type { AsyncCallView, ExecutionView } from '../../../../common/api-types.js';
import { Badge, Notice, mib, when } from '../ui.js';
import { Stat } from './shared.js';

export const ExecutionPage: FC<{ e: ExecutionView; fnName: string; traceUrl?: string | undefined }> = ({ e, fnName, traceUrl }) => (
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
      {e.callId && (
        <p>
          An attempt of async call <a href={`/ui/executions/${e.callId}`} class="mono">{e.callId}</a>
        </p>
      )}
      {e.traceId && (
        <p>
          Trace{' '}
          {traceUrl ? (
            <a id="execution-trace" href={traceUrl.replace('{traceId}', e.traceId)} class="mono" rel="noopener noreferrer" target="_blank">
              {e.traceId}
            </a>
          ) : (
            <span id="execution-trace" class="mono">
              {e.traceId}
            </span>
          )}
        </p>
      )}
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

/** A call queued with Prefer: respond-async: where it is, each attempt (linked to its execution), and its answer. */
export const AsyncCallPage: FC<{ call: AsyncCallView; fnName: string }> = ({ call, fnName }) => (
  <>
    <p class="muted">
      <a href="/ui/functions">Functions</a> / <a href={`/ui/functions/${fnName}`}>{fnName}</a> /
    </p>
    <h1>
      Queued call <span class="mono">{call.id.slice(0, 8)}</span> <Badge status={call.status} />
    </h1>
    <p class="muted">
      via {call.trigger}, queued at {when(call.createdAt)}
      {call.nextAttemptAt && <> · next attempt at {when(call.nextAttemptAt)}</>}
      {call.finishedAt && <> · finished at {when(call.finishedAt)}</>}
    </p>
    <section class="card">
      <h2>Attempts</h2>
      <table id="call-attempts">
        <thead>
          <tr>
            <th>#</th>
            <th>status</th>
            <th>HTTP</th>
            <th>started</th>
            <th>duration</th>
            <th>error</th>
          </tr>
        </thead>
        <tbody>
          {call.attempts.map((a, i) => (
            <tr>
              <td class="num">{a.executionId ? <a href={`/ui/executions/${a.executionId}`}>{i + 1}</a> : i + 1}</td>
              <td>
                <Badge status={a.status} />
              </td>
              <td class="num">{a.httpStatus || '—'}</td>
              <td>{when(a.startedAt)}</td>
              <td class="num">{`${a.durationMs} ms`}</td>
              <td>{a.error ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {call.answer && (
        <>
          <h2>Answer ({call.answer.statusCode})</h2>
          <pre id="call-answer">{call.answer.bodyEncoding === 'utf8' ? call.answer.body : `(${call.answer.body.length} characters of base64)`}</pre>
        </>
      )}
    </section>
  </>
);
