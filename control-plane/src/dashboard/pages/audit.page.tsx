/** @jsxImportSource hono/jsx */
// A team's audit trail (its admins and owners): who changed what, when, from where, with before and after.
import type { FC } from 'hono/jsx';
import type { AuditEntryView } from '../../../../common/api-types.js';
import { Head, when } from '../ui.js';

const change = (e: AuditEntryView) => [e.before !== null ? `before ${JSON.stringify(e.before)}` : '', e.after !== null ? `after ${JSON.stringify(e.after)}` : ''].filter(Boolean).join(' · ');

export const AuditPage: FC<{ team: string; entries: AuditEntryView[] }> = ({ team, entries }) => (
  <>
    <h1>Audit trail</h1>
    <p class="muted">Team {team}: the last {entries.length} changes, newest first (the API and `cpub audit` filter and page further).</p>
    <section class="card">
      <table id="audit">
        <Head cols={['When', 'Event', 'Who', 'What', 'Change', 'From']} />
        <tbody>
          {entries.length === 0 && (
            <tr>
              <td colspan={6} class="muted">
                Nothing yet.
              </td>
            </tr>
          )}
          {entries.map((e) => (
            <tr>
              <td>{when(e.at)}</td>
              <td class="mono">{e.event}</td>
              <td>{e.actor ?? '—'}</td>
              <td class="mono">{e.target ?? '—'}</td>
              <td class="mono small">{change(e).slice(0, 300)}</td>
              <td class="mono">{e.clientIp ?? '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  </>
);
