/** @jsxImportSource hono/jsx */
// What several pages share: the notice a form's answer leaves on the page, and the figure tiles of the
// function and execution pages.
import type { Child, FC } from 'hono/jsx';
import { Notice } from '../ui.js';

/** What a posted form left to say on the page it returns to. */
export interface PageNotice {
  kind: 'ok' | 'error';
  text: string;
}

/** The notice, when there is one. */
export const Flash: FC<{ notice?: PageNotice | undefined }> = ({ notice }) => (notice ? <Notice kind={notice.kind}>{notice.text}</Notice> : null);

/** One figure: its label, then the value in bold. */
export const Stat: FC<{ label: string; children?: Child }> = ({ label, children }) => (
  <div class="stat">
    {label}
    <b>{children}</b>
  </div>
);
