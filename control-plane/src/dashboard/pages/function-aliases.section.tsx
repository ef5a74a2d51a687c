/** @jsxImportSource hono/jsx */
// The function page's aliases: each with its version, its split and how it sticks; a form to point an alias at a
// version (made if new), one to split it by weight (or end the split), a delete button (not for live).
import type { FC } from 'hono/jsx';
import type { AliasView } from '../../../../common/api-types.js';
import { ActionButton, Form, Head } from '../ui.js';

const split = (a: AliasView) => (a.weights ? Object.entries(a.weights).map(([v, w]) => `v${v} ${w}%`).join(', ') : '—');

export const AliasesSection: FC<{ csrf: string; base: string; aliases: AliasView[]; url: string }> = ({ csrf, base, aliases, url }) => (
  <>
    <h2>Aliases</h2>
    <section class="card">
      <table id="aliases">
        <Head cols={['Alias', 'Version', 'Split', 'Sticky', 'Floor', 'URL', '']} />
        <tbody>
          {aliases.map((a) => (
            <tr data-alias={a.name}>
              <td class="mono">{a.name}</td>
              <td>{a.version === null ? '—' : `v${a.version}`}</td>
              <td>{split(a)}</td>
              <td class="mono">{a.sticky ?? '—'}</td>
              <td>{a.minInstances || '—'}</td>
              <td class="mono">{a.name === 'live' ? url : `${url}@${a.name}`}</td>
              <td>
                {a.weights ? <ActionButton action={`${base}/aliases/${a.name}/unsplit`} csrf={csrf} kind="secondary" label="End split" /> : null}{' '}
                {a.name === 'live' ? null : <ActionButton action={`${base}/aliases/${a.name}/delete`} csrf={csrf} kind="danger" label="Delete" />}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <Form action={`${base}/aliases`} csrf={csrf} class="row">
        <label>
          Alias
          <input name="name" required placeholder="stable" />
        </label>
        <label>
          Version
          <input name="version" required inputmode="numeric" placeholder="3" />
        </label>
        <button type="submit">Set alias</button>
      </Form>
      <Form action={`${base}/aliases/split`} csrf={csrf} class="row">
        <label>
          Alias to split
          <input name="name" required value="live" />
        </label>
        <label>
          Weights
          <input name="weights" required placeholder="1=90 2=10" />
        </label>
        <label>
          Sticky by
          <input name="sticky" placeholder="header:x-user" />
        </label>
        <button type="submit">Split</button>
      </Form>
    </section>
  </>
);
