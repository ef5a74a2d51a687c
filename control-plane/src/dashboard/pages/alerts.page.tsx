/** @jsxImportSource hono/jsx */
// Alerts: what is firing (with a one-hour silence button), what fired lately, the rules in force, the channels
// alerts go to with their latest delivery, and the silences in force — the team's, or the fleet's for administrators.
import type { FC } from 'hono/jsx';
import type { AlertChannelView, AlertRuleView, AlertSilenceView, AlertView } from '../../../../common/api-types.js';
import { ActionButton, Head, Notice, when } from '../ui.js';

export interface AlertsPageData {
  fleet: boolean;
  admin: boolean;
  alerts: AlertView[];
  rules: AlertRuleView[];
  channels: AlertChannelView[];
  silences: AlertSilenceView[];
  notice?: { kind: 'ok' | 'error'; text: string } | undefined;
}

const STATE: Record<string, string> = { firing: 'bad', pending: 'warn', resolved: 'good' };

export const AlertsPage: FC<AlertsPageData & { csrf: string }> = ({ csrf, fleet, admin, alerts, rules, channels, silences, notice }) => {
  const open = alerts.filter((a) => a.state !== 'resolved');
  const past = alerts.filter((a) => a.state === 'resolved');
  const hidden: Record<string, string> = fleet ? { fleet: '1' } : {};
  return (
    <>
      <h1>Alerts{fleet ? ' · fleet' : ''}</h1>
      <p class="muted">
        {fleet ? 'Every alert of the fleet: nodes, security events, and every team’s functions.' : 'Alerts on your team’s functions.'}{' '}
        {admin && (fleet ? <a href="/ui/alerts">Team view</a> : <a href="/ui/alerts?fleet=1">Fleet view</a>)} · <code>cpub alerts</code> adds channels and rules.
      </p>
      {notice && <Notice kind={notice.kind}>{notice.text}</Notice>}
      <section class="card">
        <h2>Open</h2>
        <table id="alerts-open">
          <Head cols={['State', 'Rule', 'What', 'Since', '']} />
          <tbody>
            {open.length === 0 && (
              <tr>
                <td colspan={5} class="muted">
                  Nothing is firing.
                </td>
              </tr>
            )}
            {open.map((a) => (
              <tr>
                <td>
                  <span class={`badge ${STATE[a.state]}`}>{a.state}</span>
                  {a.silenced && <span class="muted small"> silenced</span>}
                </td>
                <td>{a.rule}</td>
                <td>{a.summary}</td>
                <td>{when(a.firedAt ?? a.startedAt)}</td>
                <td>{!a.silenced && <ActionButton action="/ui/alerts/silence" csrf={csrf} kind="secondary" label="Silence 1 h" ariaLabel={`Silence ${a.rule} for an hour`} fields={{ ruleId: a.ruleId, ...(a.function && !fleet ? { function: a.function.split('/')[1]! } : {}), ...hidden }} />}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <section class="card">
        <h2>Resolved lately</h2>
        <table id="alerts-resolved">
          <Head cols={['Rule', 'What', 'Fired', 'Resolved']} />
          <tbody>
            {past.length === 0 && (
              <tr>
                <td colspan={4} class="muted">
                  None.
                </td>
              </tr>
            )}
            {past.map((a) => (
              <tr>
                <td>{a.rule}</td>
                <td>{a.summary}</td>
                <td>{when(a.firedAt ?? a.startedAt)}</td>
                <td>{a.resolvedAt ? when(a.resolvedAt) : '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <section class="card">
        <h2>Channels</h2>
        <table id="alert-channels">
          <Head cols={['Name', 'Type', 'Target', 'Latest delivery']} />
          <tbody>
            {channels.length === 0 && (
              <tr>
                <td colspan={4} class="muted">
                  No channels: alerts are listed here but sent nowhere (<code>cpub alerts channels add</code>).
                </td>
              </tr>
            )}
            {channels.map((ch) => (
              <tr>
                <td>{ch.name}</td>
                <td>{ch.type}</td>
                <td class="mono small">{ch.target}</td>
                <td>{ch.lastDelivery ? `${ch.lastDelivery.state}${ch.lastDelivery.error ? `: ${ch.lastDelivery.error}` : ''} · ${when(ch.lastDelivery.at)}` : '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <section class="card">
        <h2>Silences</h2>
        <table id="alert-silences">
          <Head cols={['Matches', 'Until', 'Comment', '']} />
          <tbody>
            {silences.length === 0 && (
              <tr>
                <td colspan={4} class="muted">
                  None in force.
                </td>
              </tr>
            )}
            {silences.map((s) => (
              <tr>
                <td class="mono small">{[s.ruleId && `rule=${s.ruleId}`, s.function && `fn=${s.function}`, s.kind && `kind=${s.kind}`, s.subject && `subject=${s.subject}`].filter(Boolean).join(' ')}</td>
                <td>{when(s.endsAt)}</td>
                <td>{s.comment}</td>
                <td>
                  <ActionButton action="/ui/alerts/unsilence" csrf={csrf} kind="secondary" label="End" ariaLabel="End this silence" fields={{ id: s.id, ...hidden }} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <section class="card">
        <h2>Rules</h2>
        <table id="alert-rules">
          <Head cols={['Rule', 'Kind', 'Covers', 'On', 'Parameters']} />
          <tbody>
            {rules.map((r) => (
              <tr>
                <td>
                  {r.name} <span class="muted small mono">{r.id}</span>
                </td>
                <td>{r.kind}</td>
                <td>{r.function ?? (r.fleet ? 'every function / the fleet' : 'the team’s functions')}</td>
                <td>{r.enabled ? 'on' : 'off'}</td>
                <td class="mono small">{Object.entries(r.params).map(([k, v]) => `${k}=${v}`).join(' ')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </>
  );
};
