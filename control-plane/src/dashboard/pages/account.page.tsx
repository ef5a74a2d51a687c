/** @jsxImportSource hono/jsx */
// The signed-in user's account: display name and password.
import type { FC } from 'hono/jsx';
import { Form } from '../ui.js';
import { Flash, type PageNotice } from './shared.js';

export const AccountPage: FC<{ csrf: string; email: string; name: string; notice?: PageNotice | undefined }> = ({ csrf, email, name, notice }) => (
  <>
    <h1>Account</h1>
    <Flash notice={notice} />
    <section class="card">
      <p>
        Signed in as <b>{email}</b>
      </p>
      <Form action="/ui/account/name" csrf={csrf} class="row">
        <label>
          Name
          <input name="name" value={name} maxlength={200} />
        </label>
        <button type="submit">Save</button>
      </Form>
    </section>
    <section class="card">
      <h2>Change password</h2>
      <p class="muted">Every session of this account (CLI and browsers) is signed out when the password changes.</p>
      <Form action="/ui/account/password" csrf={csrf}>
        <div class="row">
          <label>
            Current password
            <input name="currentPassword" type="password" autocomplete="current-password" required />
          </label>
          <label>
            New password
            <input name="newPassword" type="password" autocomplete="new-password" minlength={8} required />
          </label>
          <button type="submit">Change password</button>
        </div>
      </Form>
    </section>
  </>
);
