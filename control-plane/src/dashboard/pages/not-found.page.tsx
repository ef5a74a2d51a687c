/** @jsxImportSource hono/jsx */
// What a missing (or not the user's) function, execution or page shows.
import type { FC } from 'hono/jsx';

export const NotFoundPage: FC<{ what: string; title?: string }> = ({ what, title = 'Not found' }) => (
  <section class="card">
    <h1>{title}</h1>
    <p>{what}</p>
    <p>
      <a href="/ui/functions">Back to your functions</a>
    </p>
  </section>
);
