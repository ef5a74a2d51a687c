/** @jsxImportSource hono/jsx */
// The function page's scaling and canaries: calls in flight against its capacity, its queues, warm containers per
// version and node with its warm floor (a form sets it); the canary under way (promote or abort it) with the numbers
// it is judged by, a form to start one for a ready version, and how each canary before it ended.
import type { FC } from 'hono/jsx';
import type { CanaryView, ScalingView } from '../../../../common/api-types.js';
import { ActionButton, Badge, Form, Head, when } from '../ui.js';
import { Stat } from './shared.js';

const numbers = (n: { calls: number; errors: number; p95Ms: number | null }) => `${n.calls} calls, ${n.errors} failed${n.p95Ms === null ? '' : `, p95 ${Math.round(n.p95Ms)} ms`}`;

export const ScalingSection: FC<{ csrf: string; base: string; scaling: ScalingView }> = ({ csrf, base, scaling: s }) => (
  <>
    <h2>Scaling</h2>
    <section class="card" id="scaling">
      <div class="grid">
        <Stat label="In flight">
          <span data-in-flight>{s.inFlight}</span> / {s.capacity}
        </Stat>
        <Stat label="Waiting for a slot">{s.waiting}</Stat>
        <Stat label="Async queued">{s.queued}</Stat>
        <Stat label="Warm floor">
          <span data-floor>{s.minInstances}</span>
        </Stat>
        <Stat label="Max instances (fleet)">{s.maxInstances}</Stat>
      </div>
      {s.floorShortfall ? <p class="muted">Floor not met: {s.floorShortfall}</p> : null}
      <table id="warm">
        <Head cols={['Version', 'Share', 'Warm', 'Busy', 'Floor held', 'Nodes']} />
        <tbody>
          {s.versions.length ? (
            s.versions.map((v) => (
              <tr data-version={String(v.version)}>
                <td>v{v.version}</td>
                <td>{v.weight ? `${v.weight}%` : '—'}</td>
                <td data-warm>{v.idle + v.busy}</td>
                <td>{v.busy}</td>
                <td data-floor-held>{v.floorWanted || v.floorHeld ? `${v.floorHeld} of ${v.floorWanted}` : '—'}</td>
                <td class="mono">{v.nodes.map((n) => `${n.name} ${n.idle + n.busy}`).join(', ') || '—'}</td>
              </tr>
            ))
          ) : (
            <tr>
              <td colspan={6} class="muted">
                No containers: they start with the first call.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      <Form action={`${base}/scaling`} csrf={csrf} class="row">
        <label>
          Warm floor (containers kept started, idle or not)
          <input name="minInstances" type="number" min={0} max={s.maxInstances} value={String(s.minInstances)} />
        </label>
        <button type="submit">Set floor</button>
      </Form>
    </section>
  </>
);

export const CanariesSection: FC<{ csrf: string; base: string; canaries: CanaryView[] }> = ({ csrf, base, canaries }) => {
  const open = canaries.find((c) => c.state === 'building' || c.state === 'running');
  return (
    <>
      <h2>Canary</h2>
      <section class="card" id="canary">
        {open ? (
          <div data-canary-open>
            <p>
              v{open.version} against v{open.baseline}: <Badge status={open.state} /> {open.percent}% of live's calls{open.endsAt ? ` until ${when(open.endsAt)}` : ''}
            </p>
            {open.seen ? (
              <p class="muted">
                v{open.seen.canary.version}: {numbers(open.seen.canary)} · v{open.seen.baseline.version}: {numbers(open.seen.baseline)}
              </p>
            ) : null}
            {open.state === 'running' ? <ActionButton action={`${base}/canaries/promote`} csrf={csrf} kind="secondary" label="Promote now" /> : null}{' '}
            <ActionButton action={`${base}/canaries/abort`} csrf={csrf} kind="danger" label="Abort" />
          </div>
        ) : (
          <Form action={`${base}/canaries`} csrf={csrf} class="row">
            <label>
              Version
              <input name="version" required inputmode="numeric" placeholder="4" />
            </label>
            <label>
              Share (%)
              <input name="percent" type="number" min={1} max={99} value="10" />
            </label>
            <label>
              Window
              <input name="window" value="10m" placeholder="10m" />
            </label>
            <button type="submit">Start canary</button>
          </Form>
        )}
        <table id="canaries">
          <Head cols={['Version', 'Against', 'Share', 'State', 'Started', 'Why']} />
          <tbody>
            {canaries.map((c) => (
              <tr data-canary={String(c.version)}>
                <td>v{c.version}</td>
                <td>v{c.baseline}</td>
                <td>{c.percent}%</td>
                <td>
                  <Badge status={c.state} />
                </td>
                <td>{when(c.startedAt ?? c.createdAt)}</td>
                <td class="muted">{c.reason ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </>
  );
};
