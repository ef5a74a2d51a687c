/** @jsxImportSource hono/jsx */
// The function page's API keys: create, roll and revoke; a new secret is shown once.
import type { FC } from 'hono/jsx';
import type { KeyView } from '../../../../common/api-types.js';
import { ActionButton, Form, Head, Notice, when } from '../ui.js';

export const KeysSection: FC<{ csrf: string; base: string; keys: KeyView[]; newSecret?: { name: string; secret: string } | undefined }> = ({ csrf, base, keys, newSecret }) => (
  <>
    <h2>API keys</h2>
    <section class="card">
      {newSecret && (
        <Notice kind="ok">
          Key <b>{newSecret.name}</b>: <code id="new-secret">{newSecret.secret}</code> — copy it now, it is not shown again.
        </Notice>
      )}
      <table id="keys">
        <Head cols={['Name', 'Prefix', 'Created', 'Expires', 'Last used', '']} />
        <tbody>
          {keys.map((k) => (
            <tr>
              <td>{k.name}</td>
              <td class="mono">{k.prefix}</td>
              <td>{when(k.createdAt)}</td>
              <td>{when(k.expiresAt)}</td>
              <td>{when(k.lastUsedAt)}</td>
              <td>
                {k.revokedAt ? (
                  <span class="muted">revoked</span>
                ) : (
                  <>
                    <ActionButton action={`${base}/keys/${k.id}/roll`} csrf={csrf} kind="secondary" label="Roll" />{' '}
                    <ActionButton action={`${base}/keys/${k.id}/revoke`} csrf={csrf} kind="danger" label="Revoke" />
                  </>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <Form action={`${base}/keys`} csrf={csrf} class="row">
        <label>
          Name
          <input name="name" required maxlength={100} />
        </label>
        <label>
          Expires
          <select name="expires">
            {['30d', '7d', '1d', '1h', 'never'].map((x) => (
              <option value={x}>{x}</option>
            ))}
          </select>
        </label>
        <button type="submit">Create key</button>
      </Form>
    </section>
  </>
);
