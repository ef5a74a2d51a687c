/** @jsxImportSource hono/jsx */
// The function page's recent executions, filtered by status.
import type { FC } from 'hono/jsx';
import type { ExecutionListItem } from '../../../../common/api-types.js';
import { Badge, Head, when } from '../ui.js';

const STATUSES = ['success', 'error', 'timeout', 'oom', 'crashed', 'rejected', 'agent_lost'];

export const ExecutionsSection: FC<{ base: string; executions: ExecutionListItem[]; statusFilter: string }> = ({ base, executions, statusFilter }) => (
  <>
    <h2>Recent executions</h2>
    <section class="card">
      <form method="get" action={base} class="row">
        <label>
          Status
          <select name="status">
            <option value="">all</option>
            {STATUSES.map((s) => (
              <option value={s} selected={s === statusFilter}>
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
          {executions.map((e) => (
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
  </>
);
