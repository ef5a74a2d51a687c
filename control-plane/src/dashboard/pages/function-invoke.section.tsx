/** @jsxImportSource hono/jsx */
// The function page's invoke form, and what the last call through it answered.
import type { FC } from 'hono/jsx';
import type { InvokeResult } from '../../../../common/api-types.js';
import { Badge, Form, Notice } from '../ui.js';

/** The form's fields as last sent (kept when the page comes back with the answer). */
export interface InvokeFormValues {
  method: string;
  path: string;
  headers: string;
  body: string;
}

/** What the call answered (its body as text), or why it has no answer. */
export type Invoked = Omit<InvokeResult, 'bodyEncoding'> | { error: string; executionId?: string | undefined };

export const InvokeSection: FC<{ csrf: string; base: string; form: InvokeFormValues; invoked?: Invoked | undefined }> = ({ csrf, base, form, invoked }) => (
  <>
    <h2>Invoke</h2>
    <section class="card">
      <Form action={`${base}/invoke`} csrf={csrf}>
        <div class="row">
          <label>
            Method
            <select name="method">
              {['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].map((m) => (
                <option value={m} selected={m === form.method}>
                  {m}
                </option>
              ))}
            </select>
          </label>
          <label class="grow">
            Path and query
            <input name="path" value={form.path} />
          </label>
        </div>
        <div class="row">
          <label class="grow">
            <span>
              Headers (one <code>Name: value</code> a line)
            </span>
            <textarea name="headers">{form.headers}</textarea>
          </label>
          <label class="grow">
            Body
            <textarea name="body">{form.body}</textarea>
          </label>
        </div>
        <button type="submit">Invoke</button>
      </Form>
      {invoked && 'error' in invoked && (
        <Notice kind="error">
          {invoked.error}
          {invoked.executionId && (
            <>
              {' '}
              — <a href={`/ui/executions/${invoked.executionId}`}>execution</a>
            </>
          )}
        </Notice>
      )}
      {invoked && !('error' in invoked) && (
        <div id="invoke-result">
          <p>
            <Badge status={invoked.statusCode < 400 ? 'success' : 'error'} /> HTTP {invoked.statusCode} in {invoked.durationMs} ms{invoked.coldStart ? ' (cold start)' : ''} —{' '}
            {invoked.sampled ? <span>execution {invoked.executionId.slice(0, 8)} (sampled: no record kept)</span> : <a href={`/ui/executions/${invoked.executionId}`}>execution {invoked.executionId.slice(0, 8)}</a>}
          </p>
          <pre>
            {Object.entries(invoked.headers)
              .map(([k, v]) => `${k}: ${v}`)
              .join('\n')}
          </pre>
          <pre id="invoke-body">{invoked.body}</pre>
        </div>
      )}
    </section>
  </>
);
