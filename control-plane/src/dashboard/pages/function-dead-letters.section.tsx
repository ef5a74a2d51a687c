/** @jsxImportSource hono/jsx */
// The function page's dead letters: async calls that failed after their last attempt; replay or delete each.
import type { FC } from 'hono/jsx';
import type { DeadLetterView } from '../../../../common/api-types.js';
import { ActionButton, Head, when } from '../ui.js';

export const DeadLettersSection: FC<{ csrf: string; base: string; deadLetters: DeadLetterView[] }> = ({ csrf, base, deadLetters }) => (
  <>
    <h2>Dead letters</h2>
    <section class="card">
      {deadLetters.length ? (
        <table id="dead-letters">
          <Head cols={['Call', 'Failed', 'Attempts', 'Request', 'Last error', '']} />
          <tbody>
            {deadLetters.map((d) => (
              <tr>
                <td class="mono">
                  <a href={`/ui/executions/${d.id}`}>{d.id.slice(0, 8)}</a>
                </td>
                <td>{when(d.failedAt)}</td>
                <td class="num">{d.attempts}</td>
                <td class="mono">
                  {d.request.method} {d.request.path}
                </td>
                <td>{d.lastError ?? d.lastStatus}</td>
                <td>
                  <ActionButton action={`${base}/dead-letters/${d.id}/replay`} csrf={csrf} kind="secondary" label="Replay" />{' '}
                  <ActionButton action={`${base}/dead-letters/${d.id}/delete`} csrf={csrf} kind="danger" label="Delete" />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p class="muted">None: no async call of this function has failed after its last attempt.</p>
      )}
    </section>
  </>
);
