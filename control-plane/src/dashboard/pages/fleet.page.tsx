/** @jsxImportSource hono/jsx */
// The fleet, for admins: each node's status, heartbeat, capacity and warm containers, with drain and undrain.
import type { FC } from 'hono/jsx';
import type { NodeView } from '../../../../common/api-types.js';
import { ActionButton, Badge, Head, Meter, Notice, mib, when } from '../ui.js';
import { Flash, type PageNotice } from './shared.js';

export const FleetPage: FC<{ csrf: string; nodes: NodeView[]; alert: string | null; notice?: PageNotice | undefined }> = ({ csrf, nodes, alert, notice }) => (
  <>
    <h1>Fleet</h1>
    {alert && <Notice kind="error">{alert}</Notice>}
    <Flash notice={notice} />
    <section class="card">
      <table class="fleet" id="nodes">
        <Head cols={['Node', 'Status', 'Epoch', 'Last heartbeat', 'Memory reserved', 'Containers', 'Warm', 'Limits', 'Runtimes', '']} />
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
              <td>{n.runtimes.join(', ') || '—'}</td>
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
