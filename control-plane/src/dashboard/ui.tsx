/** @jsxImportSource hono/jsx */
// The dashboard's building blocks: the page layout, forms with their CSRF field, tables, status badges, and
// charts drawn as SVG on the server (no chart library, no client rendering). Styles and the small client
// script are served as files (`/ui/assets/…`), so the Content-Security-Policy allows no inline code.
import type { Child, FC } from 'hono/jsx';

export interface PageUser {
  email: string;
  name: string;
  admin: boolean;
  /** Their teams, and the one the dashboard works in. */
  teams: { handle: string; name: string; personal: boolean; role: string }[];
  team: { handle: string; name: string; personal: boolean; role: string } | undefined;
}

export const Layout: FC<{ title: string; user?: PageUser | undefined; csrf: string; firing?: { count: number; first: string[] } | undefined; children?: Child }> = ({ title, user, csrf, firing, children }) => (
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <title>{`${title} · ContainerPub`}</title>
      <link rel="stylesheet" href="/ui/assets/app.css" />
      <script src="/ui/assets/app.js" defer></script>
    </head>
    <body>
      <header class="top">
        <a class="brand" href="/ui/functions">
          ContainerPub
        </a>
        {user && (
          <Form action="/ui/team" csrf={csrf} class="inline team-switch">
            <label for="team-switch">Team</label>
            <select id="team-switch" name="team" aria-label="Team">
              {user.teams.map((t) => (
                <option value={t.handle} selected={t.handle === user.team?.handle}>
                  {t.personal ? `${t.name} (personal)` : t.name} · {t.role}
                </option>
              ))}
            </select>
            <button type="submit" class="secondary">
              Switch
            </button>
          </Form>
        )}
        {user && (
          <nav aria-label="Main">
            <a href="/ui/functions">Functions</a>
            <a href="/ui/alerts">Alerts</a>
            {user.team && (user.team.role === 'owner' || user.team.role === 'admin') && <a href="/ui/audit">Audit</a>}
            {user.admin && <a href="/ui/fleet">Fleet</a>}
            <a href="/ui/account">Account</a>
            <Form action="/ui/logout" csrf={csrf} class="inline">
              <button type="submit" class="link">
                Log out
              </button>
            </Form>
          </nav>
        )}
      </header>
      {firing && (
        <div class="banner" id="alert-banner" role="region" aria-label="Alerts firing">
          <a href="/ui/alerts">
            {firing.count} alert{firing.count === 1 ? '' : 's'} firing
          </a>
          : {firing.first.join(' · ')}
          {firing.count > firing.first.length ? ' · …' : ''}
        </div>
      )}
      <main id="main">{children}</main>
    </body>
  </html>
);

export const Form: FC<{ action: string; csrf: string; class?: string; children?: Child }> = ({ action, csrf, children, ...rest }) => (
  <form method="post" action={action} class={rest.class}>
    <input type="hidden" name="_csrf" value={csrf} />
    {children}
  </form>
);

/** A one-button form (drain, roll back, revoke, …): hidden `fields` go with the CSRF token. */
export const ActionButton: FC<{ action: string; csrf: string; kind: 'secondary' | 'danger'; label: string; ariaLabel?: string; fields?: Record<string, string> }> = ({ action, csrf, kind, label, ariaLabel, fields }) => (
  <Form action={action} csrf={csrf} class="inline">
    {Object.entries(fields ?? {}).map(([name, value]) => (
      <input type="hidden" name={name} value={value} />
    ))}
    <button type="submit" class={kind} aria-label={ariaLabel}>
      {label}
    </button>
  </Form>
);

/** A table's header row. */
export const Head: FC<{ cols: string[] }> = ({ cols }) => (
  <thead>
    <tr>
      {cols.map((c) => (
        <th>{c}</th>
      ))}
    </tr>
  </thead>
);

export const Notice: FC<{ kind: 'error' | 'ok'; children?: Child }> = ({ kind, children }) => (
  <p class={`notice ${kind}`} role={kind === 'error' ? 'alert' : 'status'}>
    {children}
  </p>
);

const STATUS_CLASS: Record<string, string> = {
  ready: 'good',
  success: 'good',
  succeeded: 'good',
  up: 'good',
  queued: 'warn',
  running: 'warn',
  building: 'warn',
  draining: 'warn',
  drained: 'warn',
  suspect: 'warn',
  rejected: 'warn',
  not_deployed: 'muted',
  promoted: 'good',
  aborted: 'muted',
};

export const Badge: FC<{ status: string }> = ({ status }) => <span class={`badge ${STATUS_CLASS[status] ?? 'bad'}`}>{status.replace('_', ' ')}</span>;

/** A small line of values (the functions list). */
export const Sparkline: FC<{ values: number[]; label: string }> = ({ values, label }) => {
  const w = 96;
  const h = 24;
  const max = Math.max(1, ...values);
  const step = values.length > 1 ? w / (values.length - 1) : w;
  const points = values.map((v, i) => `${(i * step).toFixed(1)},${(h - 2 - (v / max) * (h - 4)).toFixed(1)}`).join(' ');
  return (
    <svg class="spark" width={w} height={h} viewBox={`0 0 ${w} ${h}`} role="img" aria-label={label}>
      <polyline points={points} fill="none" stroke="currentColor" stroke-width="1.5" />
    </svg>
  );
};

/** Bars per bucket, two series stacked (e.g. successes and errors per hour), with an axis of times. */
export const BarChart: FC<{ title: string; buckets: { label: string; a: number; b: number }[]; legend: [string, string] }> = ({ title, buckets, legend }) => {
  const w = 720;
  const h = 160;
  const pad = 24;
  const max = Math.max(1, ...buckets.map((x) => x.a + x.b));
  const bw = (w - pad * 2) / Math.max(1, buckets.length);
  const y = (v: number) => ((h - pad * 2) * v) / max;
  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <svg viewBox={`0 0 ${w} ${h}`} role="img" aria-label={`${title}: ${buckets.reduce((n, x) => n + x.a + x.b, 0)} in all`} preserveAspectRatio="none">
        <line x1={pad} y1={h - pad} x2={w - pad} y2={h - pad} stroke="#c9ced6" />
        <text x={pad - 4} y={pad} text-anchor="end" class="axis">
          {max}
        </text>
        {buckets.map((x, i) => (
          <g>
            <rect x={pad + i * bw + 1} y={h - pad - y(x.a)} width={Math.max(1, bw - 2)} height={y(x.a)} fill="#3b6fd8">
              <title>{`${x.label}: ${x.a} ${legend[0]}, ${x.b} ${legend[1]}`}</title>
            </rect>
            <rect x={pad + i * bw + 1} y={h - pad - y(x.a) - y(x.b)} width={Math.max(1, bw - 2)} height={y(x.b)} fill="#d64545" />
            {i % 6 === 0 && (
              <text x={pad + i * bw} y={h - 6} class="axis">
                {x.label}
              </text>
            )}
          </g>
        ))}
      </svg>
      <p class="legend">
        <span class="key a"></span> {legend[0]} <span class="key b"></span> {legend[1]}
      </p>
    </figure>
  );
};

const SERIES = ['#3b6fd8', '#a86b00', '#d64545'];

/** Lines over buckets, one per series; a bucket with no value (no calls) leaves a gap. */
export const LineChart: FC<{ title: string; labels: string[]; series: { name: string; values: (number | null)[] }[]; unit?: (v: number) => string }> = ({ title, labels, series, unit = (v) => String(Math.round(v)) }) => {
  const w = 720;
  const h = 140;
  const pad = 24;
  const max = Math.max(1, ...series.flatMap((x) => x.values.map((v) => v ?? 0)));
  const x = (i: number) => pad + ((w - pad * 2) * i) / Math.max(1, labels.length - 1);
  const y = (v: number) => h - pad - ((h - pad * 2) * v) / max;
  const paths = series.map((sr) => {
    const segments: string[][] = [[]];
    sr.values.forEach((v, i) => (v === null ? segments.push([]) : segments[segments.length - 1]!.push(`${x(i).toFixed(1)},${y(v).toFixed(1)}`)));
    return segments.filter((seg) => seg.length);
  });
  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <svg viewBox={`0 0 ${w} ${h}`} role="img" aria-label={`${title}: at most ${unit(max)}`} preserveAspectRatio="none">
        <line x1={pad} y1={h - pad} x2={w - pad} y2={h - pad} stroke="#c9ced6" />
        <text x={pad - 4} y={pad} text-anchor="end" class="axis">
          {unit(max)}
        </text>
        {paths.map((segs, k) =>
          segs.map((seg) =>
            seg.length === 1 ? (
              <circle cx={seg[0]!.split(',')[0]} cy={seg[0]!.split(',')[1]} r="3" fill={SERIES[k % SERIES.length]} />
            ) : (
              <polyline points={seg.join(' ')} fill="none" stroke={SERIES[k % SERIES.length]} stroke-width="2" />
            ),
          ),
        )}
        {labels.map(
          (l, i) =>
            i % 6 === 0 && (
              <text x={x(i)} y={h - 6} class="axis">
                {l}
              </text>
            ),
        )}
      </svg>
      {series.length > 1 && (
        <p class="legend">
          {series.map((sr, k) => (
            <>
              <span class={`key s${k}`}></span> {sr.name}{' '}
            </>
          ))}
        </p>
      )}
    </figure>
  );
};

/** A bar of used out of total (node capacity). */
export const Meter: FC<{ used: number; total: number; label: string }> = ({ used, total, label }) => {
  const pct = total > 0 ? Math.min(100, Math.round((used / total) * 100)) : 0;
  return (
    <span class="meter" role="meter" aria-label={label} aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct}>
      <svg width="120" height="10" viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden="true">
        <rect x="0" y="0" width="100" height="10" fill="#e6e9ee" />
        <rect x="0" y="0" width={pct} height="10" fill={pct > 85 ? '#d64545' : '#3b6fd8'} />
      </svg>
      <span>{`${pct}%`}</span>
    </span>
  );
};

export const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
export const when = (iso: string | null) => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '—');

export const CSS = `
:root { --fg:#1d2330; --muted:#5f6b7a; --line:#dde2e8; --bg:#f6f7f9; --card:#fff; --accent:#3b6fd8; --bad:#c43b3b; --good:#1f8a4c; --warn:#a86b00; }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color:var(--fg); background:var(--bg); }
a { color:var(--accent); }
:focus-visible { outline:3px solid #f0b429; outline-offset:2px; }
header.top { display:flex; flex-wrap:wrap; gap:12px; align-items:center; justify-content:space-between; padding:10px 20px; background:#1d2330; color:#fff; }
header.top a { color:#fff; text-decoration:none; }
header.top .team-switch { display:flex; gap:6px; align-items:center; }
#audit td.small { font-size:.8em; word-break:break-all; max-width:32em; }
#audit td:first-child { white-space:nowrap; }
header.top .team-switch label { font-size:.85em; opacity:.8; }
.brand { font-weight:700; letter-spacing:.2px; }
nav { display:flex; flex-wrap:wrap; gap:16px; align-items:center; }
main { max-width:1100px; margin:0 auto; padding:20px; }
h1 { font-size:1.5rem; margin:.2em 0 .6em; } h2 { font-size:1.15rem; margin:1.4em 0 .5em; }
section.card, .card { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:16px; margin:0 0 16px; overflow-x:auto; }
table { width:100%; border-collapse:collapse; }
th, td { text-align:left; padding:7px 8px; border-bottom:1px solid var(--line); vertical-align:top; }
th { font-size:.8rem; text-transform:uppercase; letter-spacing:.04em; color:var(--muted); }
td.num { font-variant-numeric:tabular-nums; }
.badge { display:inline-block; padding:1px 8px; border-radius:10px; font-size:.8rem; font-weight:600; background:#fbe3e3; color:var(--bad); }
.badge.good { background:#dff3e7; color:var(--good); } .badge.warn { background:#fdf1d8; color:var(--warn); } .badge.muted { background:#eceff3; color:var(--muted); }
form.inline { display:inline; margin:0; }
.row { display:flex; flex-wrap:wrap; gap:12px; align-items:flex-end; }
label { display:flex; flex-direction:column; gap:4px; font-size:.85rem; color:var(--muted); }
input, select, textarea { font:inherit; padding:6px 8px; border:1px solid #b9c0ca; border-radius:6px; background:#fff; color:var(--fg); min-width:0; }
textarea { width:100%; min-height:80px; font-family:ui-monospace, monospace; font-size:.85rem; }
button { font:inherit; padding:6px 14px; border-radius:6px; border:1px solid var(--accent); background:var(--accent); color:#fff; cursor:pointer; }
button.secondary { background:#fff; color:var(--accent); } button.danger { border-color:var(--bad); background:#fff; color:var(--bad); }
button.link { border:0; background:none; color:#fff; padding:0; text-decoration:underline; }
.banner { background:#fbe3e3; color:#8d1f1f; padding:8px 16px; font-size:.9rem; } .banner a { color:inherit; font-weight:600; }
.notice { padding:10px 12px; border-radius:6px; } .notice.error { background:#fbe3e3; color:#8d1f1f; } .notice.ok { background:#dff3e7; color:#14532d; }
code, pre, .mono { font-family:ui-monospace, SFMono-Regular, Menlo, monospace; font-size:.85rem; }
pre { background:#0f1420; color:#d7dde8; padding:10px; border-radius:6px; overflow:auto; max-height:320px; white-space:pre-wrap; word-break:break-word; }
.muted { color:var(--muted); }
.grid { display:grid; grid-template-columns:repeat(auto-fit, minmax(150px, 1fr)); gap:12px; }
.stat { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:10px 12px; } .stat b { display:block; font-size:1.3rem; }
figure.chart { margin:0; } figure.chart svg { width:100%; height:160px; } figcaption { font-weight:600; margin-bottom:4px; }
.axis { font-size:10px; fill:#5f6b7a; }
.legend { font-size:.8rem; color:var(--muted); } .key { display:inline-block; width:10px; height:10px; } .key.a, .key.s0 { background:#3b6fd8; } .key.b, .key.s2 { background:#d64545; } .key.s1 { background:#a86b00; }
.spark { color:var(--accent); vertical-align:middle; }
.meter { display:inline-flex; gap:6px; align-items:center; font-size:.8rem; }
.copy { display:flex; gap:8px; align-items:center; flex-wrap:wrap; }
.tail { height:220px; }
.narrow { max-width:420px; margin:40px auto; }
.card > h2:first-child, .card > h1:first-child { margin-top:0; }
label.grow { flex:1; min-width:220px; }
label.check { flex-direction:row; align-items:center; }
.secret { letter-spacing:2px; }
@media (max-width: 640px) { main { padding:12px; } th:nth-child(n+5), td:nth-child(n+5) { display:none; } .fleet th:nth-child(n+5), .fleet td:nth-child(n+5) { display:table-cell; } }
`;

/** The client script: copy buttons, and the live log tail over Server-Sent Events. Nothing else runs in the page. */
export const JS = `
document.addEventListener('click', (e) => {
  const b = e.target.closest('[data-copy]');
  if (!b) return;
  navigator.clipboard?.writeText(b.getAttribute('data-copy')).then(() => { b.textContent = 'Copied'; setTimeout(() => (b.textContent = 'Copy'), 1500); });
});
window.addEventListener('DOMContentLoaded', () => {
  const tail = document.querySelector('[data-tail]');
  if (!tail) return;
  const state = document.querySelector('[data-tail-state]');
  const es = new EventSource(tail.getAttribute('data-tail'));
  es.addEventListener('open', () => { if (state) state.textContent = 'live'; });
  es.addEventListener('error', () => { if (state) state.textContent = 'reconnecting…'; });
  es.addEventListener('log', (ev) => {
    const l = JSON.parse(ev.data);
    const line = new Date(l.atMs).toISOString().slice(11, 23) + ' ' + l.level.padEnd(5) + ' ' + l.executionId.slice(0, 8) + ' ' + l.message + '\\n';
    tail.textContent += line;
    tail.scrollTop = tail.scrollHeight;
  });
});
`;
