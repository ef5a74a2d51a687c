/** @jsxImportSource hono/jsx */
// The list of the user's functions with their last 24 hours, and the form that creates one.
import type { TeamUsageView } from '../../../../common/api-types.js';
import type { FC } from 'hono/jsx';
import type { FunctionView, StatsSummary } from '../../../../common/api-types.js';
import { Badge, Form, Head, Notice, Sparkline, when } from '../ui.js';

export interface FunctionRowView {
  fn: FunctionView;
  stats: StatsSummary;
  hourly: number[];
  lastCall: string | null;
}

export const FunctionsPage: FC<{ csrf: string; rows: FunctionRowView[]; error?: string | undefined; usage?: TeamUsageView | undefined }> = ({ csrf, rows, error, usage }) => (
  <>
    <h1>Functions</h1>
    {error && <Notice kind="error">{error}</Notice>}
    {usage && usage.quotas.some((q) => q.limit !== null) && (
      <section class="card" id="usage" aria-label="Team usage">
        <h2>Team usage</h2>
        <table>
          <Head cols={['Quota', 'Used', 'Limit']} />
          <tbody>
            {usage.quotas
              .filter((q) => q.limit !== null)
              .map((q) => (
                <tr>
                  <td>{q.name}</td>
                  <td class="num">{q.used}</td>
                  <td class="num">{q.limit}</td>
                </tr>
              ))}
          </tbody>
        </table>
      </section>
    )}
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
