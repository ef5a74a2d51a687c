/** @jsxImportSource hono/jsx */
// The function page's schedules: each with its next runs, what it fired and skipped; pause, resume, delete; a form
// to add one (cron or @every, a time zone, a JSON payload, overlap).
import type { FC } from 'hono/jsx';
import type { ScheduleView } from '../../../../common/api-types.js';
import { ActionButton, Form, Head, when } from '../ui.js';

export const SchedulesSection: FC<{ csrf: string; base: string; schedules: ScheduleView[] }> = ({ csrf, base, schedules }) => (
  <>
    <h2>Schedules</h2>
    <section class="card">
      {schedules.length ? (
        <table id="schedules">
          <Head cols={['Schedule', 'Next runs', 'Last run', 'Fired', 'Skipped', 'Overlap', '']} />
          <tbody>
            {schedules.map((s) => (
              <tr data-schedule={s.id}>
                <td class="mono">
                  {s.cron}
                  {s.timezone === 'UTC' ? '' : ` (${s.timezone})`}
                </td>
                <td>{s.paused ? 'paused' : s.nextRuns.length ? s.nextRuns.map(when).join(', ') : 'never'}</td>
                <td>{s.lastCallId ? <a href={`/ui/executions/${s.lastCallId}`}>{when(s.lastRunAt)}</a> : when(s.lastRunAt)}</td>
                <td class="num">{s.fired}</td>
                <td class="num">{s.skipped}</td>
                <td>{s.overlap}</td>
                <td>
                  <ActionButton action={`${base}/schedules/${s.id}/${s.paused ? 'resume' : 'pause'}`} csrf={csrf} kind="secondary" label={s.paused ? 'Resume' : 'Pause'} />{' '}
                  <ActionButton action={`${base}/schedules/${s.id}/delete`} csrf={csrf} kind="danger" label="Delete" />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p class="muted">None. Each tick of a schedule queues an async call of the function (retries and dead letters apply).</p>
      )}
      <Form action={`${base}/schedules`} csrf={csrf} class="row">
        <label>
          Cron
          <input name="cron" required placeholder="0 2 * * *  or  @every 5m" />
        </label>
        <label>
          Time zone
          <input name="timezone" value="UTC" />
        </label>
        <label>
          Payload (JSON)
          <input name="payload" placeholder='{"report":"daily"}' />
        </label>
        <label>
          Overlap
          <select name="overlap">
            <option value="skip" selected>
              skip
            </option>
            <option value="queue">queue</option>
          </select>
        </label>
        <button type="submit">Add schedule</button>
      </Form>
    </section>
  </>
);
