/** @jsxImportSource hono/jsx */
// The login and registration page: the one page a visitor without a session sees.
import type { FC } from 'hono/jsx';
import { Form, Notice } from '../ui.js';

export const LoginPage: FC<{ csrf: string; error?: string | undefined; registerOpen: boolean; mode: 'login' | 'register'; next: string }> = ({ csrf, error, registerOpen, mode, next }) => (
  <section class="card narrow">
    <h1>{mode === 'login' ? 'Log in' : 'Create an account'}</h1>
    {error && <Notice kind="error">{error}</Notice>}
    <Form action={mode === 'login' ? '/ui/login' : '/ui/register'} csrf={csrf}>
      <input type="hidden" name="next" value={next} />
      <p>
        <label>
          Email
          <input name="email" type="email" autocomplete="username" required />
        </label>
      </p>
      <p>
        <label>
          Password
          <input name="password" type="password" autocomplete={mode === 'login' ? 'current-password' : 'new-password'} minlength={8} required />
        </label>
      </p>
      <button type="submit">{mode === 'login' ? 'Log in' : 'Create account'}</button>
    </Form>
    {registerOpen && (
      <p class="muted">{mode === 'login' ? <a href="/ui/register">Create an account</a> : <a href="/ui/login">I have an account</a>}</p>
    )}
  </section>
);
