/** @jsxImportSource hono/jsx */
// The function page's env vars and secrets (masked), with set and unset.
import type { FC } from 'hono/jsx';
import type { EnvEntry } from '../../../../common/api-types.js';
import { ActionButton, Form, Head } from '../ui.js';

export const EnvSection: FC<{ csrf: string; base: string; env: EnvEntry[] }> = ({ csrf, base, env }) => (
  <>
    <h2>Environment</h2>
    <section class="card">
      <table id="env">
        <Head cols={['Key', 'Value', 'Kind', '']} />
        <tbody>
          {env.map((e) => (
            <tr>
              <td class="mono">{e.key}</td>
              <td class={e.secret ? 'mono secret' : 'mono'}>{e.secret ? '••••••••' : e.value}</td>
              <td>{e.secret ? 'secret' : 'var'}</td>
              <td>
                <ActionButton action={`${base}/env/unset`} csrf={csrf} kind="danger" label="Unset" ariaLabel={`Unset ${e.key}`} fields={{ key: e.key }} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <Form action={`${base}/env`} csrf={csrf} class="row">
        <label>
          Key
          <input name="key" required pattern="[A-Za-z_][A-Za-z0-9_]*" />
        </label>
        <label>
          Value
          <input name="value" />
        </label>
        <label class="check">
          <input type="checkbox" name="secret" value="1" /> secret
        </label>
        <button type="submit">Set</button>
      </Form>
    </section>
  </>
);
