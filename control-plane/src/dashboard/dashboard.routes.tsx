/** @jsxImportSource hono/jsx */
// The web dashboard under /ui: server-rendered pages (Hono JSX) over the same services as the API, forms that
// post and redirect, a session in cookies (session.ts) and a CSRF token on every form. Another user's function
// or execution is a 404 page, as in the API.
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { raw } from 'hono/html';
import type { Child } from 'hono/jsx';
import type { AuthService } from '../auth/auth.service.js';
import type { UsersService } from '../users/users.service.js';
import type { Fleet } from '../fleet/fleet.service.js';
import type { Features } from '../http/features.js';
import { liveLogStream } from '../executions/live-logs.js';
import { AppError, Invalid, NotFound, TooLarge, statusOf } from '../errors.js';
import { LIMITS } from '../functions/functions.view.js';
import type { ExecutionStatus } from '../db/schema.js';
import { getCookie } from 'hono/cookie';
import { COOKIE, checkCsrf, clearSession, csrfToken, flash, flashSecret, newCsrfToken, sessionUser, sessionTeam, chooseTeam, setSession, takeFlash, takeSecret, type UiEnv } from './session.js';
import type { Sealer } from '../secrets/crypto.js';
import type { Logger } from '../../../common/logger.js';
import { KeyName } from '../keys/keys.routes.js';
import { InvokeBody } from '../invocations/invoke.routes.js';
import { CSS, JS, Layout } from './ui.js';
import { functionActions } from './function-actions.js';
import { alertsUi, firingNow } from './alerts.ui.js';
import { AccountPage, AuditPage, AsyncCallPage, ExecutionPage, FleetPage, FunctionPage, FunctionsPage, LoginPage, NotFoundPage, type FunctionPageData, type FunctionRowView } from './pages/index.js';

export interface DashboardDeps {
  auth: AuthService;
  users: UsersService;
  fleet: Fleet;
  features: Features;
  registration: 'open' | 'closed';
  /** CPUB_TRUST_PROXY: X-Forwarded-Proto says whether the browser used HTTPS (cookies are then Secure). */
  trustProxy: boolean;
  /** Seals a new key's secret for the one page that shows it. */
  sealer: Sealer;
  log: Logger;
  /** CPUB_TRACE_URL: an execution's trace id links to this page, `{traceId}` replaced. */
  traceUrl?: string | undefined;
}

/** Pages allow only our own script and styles; nothing inline, no framing. */
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

type Form = Record<string, string>;

export function dashboardRoutes(d: DashboardDeps) {
  const { functions: fns, deployments, invocations, executions, env, keys, stats, liveLogs, deadLetters, schedules, aliases, scaling, canaries } = d.features;
  const app = new Hono<UiEnv>();

  app.use('*', async (c, next) => {
    c.set('trustProxy', d.trustProxy);
    await next();
    c.header('Content-Security-Policy', CSP);
    if (!c.res.headers.has('cache-control')) c.header('Cache-Control', 'no-store');
  });
  app.use(
    '*',
    bodyLimit({
      maxSize: 1024 * 1024,
      onError: () => {
        throw TooLarge('payload_too_large', 'the form is larger than 1 MB');
      },
    }),
  );
  app.use('*', csrfToken());

  app.get('/assets/app.css', (c) => c.body(CSS, 200, { 'content-type': 'text/css; charset=utf-8', 'cache-control': 'max-age=300' }));
  app.get('/assets/app.js', (c) => c.body(JS, 200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'max-age=300' }));

  const page = async (c: Context<UiEnv>, title: string, body: Child, status: 200 | 400 | 403 | 404 | 422 | 500 = 200) => {
    const p = c.get('principal');
    const teams = c.get('teams') ?? [];
    const current = teams.find((t) => t.handle === c.get('user')?.team) ?? teams.find((t) => t.personal);
    const user = p ? { email: p.email, name: c.get('user').name, admin: p.role === 'admin', teams, team: current } : undefined;
    // A banner on every page while something of the caller's is firing.
    const firing = p && status < 500 ? await firingNow(d.features.alerts, c) : undefined;
    return c.html(
      <>
        {raw('<!doctype html>')}
        <Layout title={title} user={user} csrf={c.get('csrf')} firing={firing}>
          {body}
        </Layout>
      </>,
      status,
    );
  };
  const form = async (c: Context<UiEnv>): Promise<Form> => {
    const f = (await c.req.parseBody()) as Record<string, string | File>;
    const out: Form = {};
    for (const [k, v] of Object.entries(f)) if (typeof v === 'string') out[k] = v;
    await checkCsrf(c, out);
    return out;
  };
  const safeNext = (next: string | undefined) => (next && /^\/ui\/[A-Za-z0-9/_\-.?=&%]*$/.test(next) && !next.includes('..') && !next.includes('//') ? next : '/ui/functions');

  // --- signing in and out -------------------------------------------------------------------------------------
  const loginPage = (c: Context<UiEnv>, mode: 'login' | 'register', error?: string, status: 200 | 400 | 403 = 200) =>
    page(c, mode === 'login' ? 'Log in' : 'Create an account', <LoginPage csrf={c.get('csrf')} error={error} mode={mode} registerOpen={d.registration === 'open'} next={safeNext(c.req.query('next'))} />, status);
  app.get('/login', (c) => loginPage(c, 'login'));
  app.get('/register', (c) => (d.registration === 'open' ? loginPage(c, 'register') : c.redirect('/ui/login')));
  for (const mode of ['login', 'register'] as const) {
    app.post(`/${mode}`, async (c) => {
      const f = await form(c);
      try {
        if (mode === 'register') await d.auth.register({ email: f.email ?? '', password: f.password ?? '' }, { ip: c.get('clientIp') });
        setSession(c, await d.auth.login({ email: f.email ?? '', password: f.password ?? '' }, { ip: c.get('clientIp') }));
        newCsrfToken(c);
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        const text = err.code === 'invalid_credentials' ? 'Wrong email or password.' : err.detail;
        return loginPage(c, mode, text, 400);
      }
      return c.redirect(safeNext(f.next), 303);
    });
  }

  // Everything below needs a session; without one, the login page (then back here).
  app.use('*', async (c, next) => {
    if (await sessionUser(c, d.auth)) {
      await sessionTeam(c, d.features.teams);
      return next();
    }
    const target = new URL(c.req.url);
    return c.redirect(`/ui/login?next=${encodeURIComponent(target.pathname + target.search)}`, 303);
  });

  // The audit trail of the team the dashboard works in (its admins and owners; others get the 403's words).
  app.get('/audit', async (c) => {
    const user = c.get('user');
    const team = user.team ?? c.get('teams').find((t) => t.personal)!.handle;
    const r = await d.features.audit.forTeam(user, team, { limit: 200 });
    return page(c, 'Audit trail', <AuditPage team={team} entries={r.entries} />);
  });

  // The team switcher in every page's header.
  app.post('/team', async (c) => {
    const f = await form(c);
    const team = c.get('teams').find((t) => t.handle === f.team);
    if (!team) throw NotFound('team_not_found', `you are not in a team ${f.team ?? ''}`);
    chooseTeam(c, team.personal ? undefined : team.handle);
    return c.redirect('/ui/functions', 303);
  });

  app.post('/logout', async (c) => {
    await form(c);
    const refresh = getCookie(c, COOKIE.refresh);
    if (refresh) await d.auth.logout(c.get('principal'), refresh, { ip: c.get('clientIp') }).catch(() => {});
    clearSession(c);
    newCsrfToken(c);
    return c.redirect('/ui/login', 303);
  });

  // --- functions -------------------------------------------------------------------------------------------------
  app.get('/', (c) => c.redirect('/ui/functions'));
  app.get('/functions', async (c) => {
    const user = c.get('user');
    const { functions } = await fns.list(user, 100);
    const rows: FunctionRowView[] = await Promise.all(
      functions.map(async (fn) => {
        const [s, hourly, last] = await Promise.all([
          stats.summary({ functionId: fn.id }, '24h'),
          stats.buckets({ functionId: fn.id }, 'hour', 24),
          executions.list(user, fn.id, { limit: 1 }),
        ]);
        return { fn, stats: s, hourly: hourly.map((b) => b.invocations), lastCall: last.executions[0]?.startedAt ?? null };
      }),
    );
    const team = user.team ?? c.get('teams').find((t) => t.personal)?.handle;
    const usage = team ? await d.features.quotas.usage(user, team) : undefined;
    return page(c, 'Functions', <FunctionsPage csrf={c.get('csrf')} rows={rows} error={takeFlash(c)?.text} usage={usage} />);
  });

  app.post('/functions', async (c) => {
    const f = await form(c);
    try {
      const fn = await fns.create(c.get('user'), { name: f.name ?? '', auth: LIMITS.auth.safeParse(f.auth).data });
      return c.redirect(`/ui/functions/${fn.name}`, 303);
    } catch (err) {
      if (!(err instanceof AppError) || statusOf(err).status >= 500) throw err;
      flash(c, 'error', err.detail);
      return c.redirect('/ui/functions', 303);
    }
  });

  /** What a role may not see shows as nothing on the page (the API answers 403). */
  const forbiddenAs =
    <T,>(empty: T) =>
    (err: unknown): T => {
      if (err instanceof AppError && err.kind === 'forbidden') return empty;
      throw err;
    };

  /** The function page's data; `extra` adds what an action just did (a notice, an invoke result, a new key). */
  async function functionPage(c: Context<UiEnv>, extra: Partial<FunctionPageData> = {}, status: 200 | 400 = 200) {
    const user = c.get('user');
    let row;
    try {
      row = await fns.find(user, c.req.param('name')!, 'functions:read');
    } catch (err) {
      if (err instanceof AppError && err.kind === 'not_found') return page(c, 'Not found', <NotFoundPage what={`You have no function named ${c.req.param('name')}.`} />, 404);
      throw err;
    }
    const statusFilter = (c.req.query('status') ?? '') as ExecutionStatus | '';
    const [fn, deps, envList, keyList, s, hourly, ex, dead, scheduleList, aliasList, scalingView, canaryList] = await Promise.all([
      fns.get(user, row.id),
      deployments.list(user, row.id, 20),
      env.list(user, row.id),
      keys.list(user, row.id).catch(forbiddenAs([])),
      stats.summary({ functionId: row.id }, '24h'),
      stats.buckets({ functionId: row.id }, 'hour', 24),
      executions.list(user, row.id, { limit: 20, ...(statusFilter ? { status: statusFilter } : {}) }),
      deadLetters.list(user, row.id, 20),
      schedules.list(user, row.id),
      aliases.list(user, row.id),
      scaling.of(row),
      canaries.list(user, row.id),
    ]);
    const notice = takeFlash(c);
    const newSecret = takeSecret(c, d.sealer, user.id);
    const data: FunctionPageData = { fn, deployments: deps.deployments, env: envList, keys: keyList, deadLetters: dead.deadLetters, schedules: scheduleList, aliases: aliasList, scaling: scalingView, canaries: canaryList, stats: s, hourly, executions: ex.executions, statusFilter, notice, newSecret, ...extra };
    return page(c, fn.name, <FunctionPage csrf={c.get('csrf')} d={data} />, status);
  }
  app.get('/functions/:name', (c) => functionPage(c));

  // A version's build log, as text (linked from the versions table: logs are not all loaded with the page).
  app.get('/functions/:name/versions/:version/log', async (c) => {
    const version = Number(c.req.param('version'));
    if (!Number.isSafeInteger(version) || version < 1) throw Invalid('invalid_version', 'a version is a positive integer', { field: 'version' });
    const deployment = await deployments.get(c.get('user'), c.req.param('name'), version);
    return c.text(deployment.buildLog || deployment.error || '(empty)');
  });

  /** Runs a form action on the user's function, then back to its page with what happened. */
  const action = (path: string, run: (c: Context<UiEnv>, fn: Awaited<ReturnType<typeof fns.find>>, f: Form) => Promise<string>) =>
    app.post(`/functions/:name/${path}`, async (c) => {
      const f = await form(c);
      const fn = await fns.find(c.get('user'), c.req.param('name')!, 'functions:read');
      try {
        flash(c, 'ok', await run(c, fn, f));
      } catch (err) {
        if (!(err instanceof AppError) || statusOf(err).status >= 500) throw err;
        flash(c, 'error', err.detail);
      }
      return c.redirect(`/ui/functions/${encodeURIComponent(fn.name)}`, 303);
    });

  functionActions(action, d.features);
  alertsUi(app, d.features.alerts, page, form);

  // Creating or rolling a key shows its secret once, on the function's page after the redirect (a reload of
  // that page shows it no more, and creates no other key).
  const showSecret = (roll: boolean) => async (c: Context<UiEnv>) => {
    const f = await form(c);
    const fn = await fns.find(c.get('user'), c.req.param('name')!, 'functions:read');
    const expiry = (['1h', '1d', '7d', '30d', 'never'] as const).find((x) => x === f.expires) ?? '30d';
    const name = KeyName.safeParse((f.name ?? '').trim() || 'key');
    if (!name.success) return functionPage(c, { notice: { kind: 'error', text: 'a key name is 1–100 characters' } }, 400);
    const r = roll ? await keys.roll(c.get('user'), fn.id, c.req.param('keyId')!) : await keys.create(c.get('user'), fn.id, name.data, expiry);
    flashSecret(c, d.sealer, c.get('user').id, { name: r.key.name, secret: r.secret });
    return c.redirect(`/ui/functions/${encodeURIComponent(fn.name)}`, 303);
  };
  app.post('/functions/:name/keys', showSecret(false));
  app.post('/functions/:name/keys/:keyId/roll', showSecret(true));

  // The invoke form: the function's answer is shown on its page, with a link to the execution.
  app.post('/functions/:name/invoke', async (c) => {
    const f = await form(c);
    const fn = await fns.find(c.get('user'), c.req.param('name')!, 'functions:read');
    const method = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].includes(f.method ?? '') ? f.method! : 'GET';
    const raw = f.path?.trim() || '/';
    const [path, query = ''] = (raw.startsWith('/') ? raw : `/${raw}`).split(/\?(.*)/s);
    const headers: [string, string][] = [];
    for (const line of (f.headers ?? '').split(/\r?\n/)) {
      if (!line.trim()) continue;
      const i = line.indexOf(':');
      if (i < 1) return functionPage(c, { invoked: { error: `header line "${line}": write it as Name: value` }, invokeForm: { method, path: raw, headers: f.headers ?? '', body: f.body ?? '' } }, 400);
      headers.push([line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim()]);
    }
    const invokeForm = { method, path: raw, headers: f.headers ?? '', body: f.body ?? '' };
    const checked = InvokeBody.safeParse({ method, path, query, headers: Object.fromEntries(headers), body: f.body ?? '' });
    if (!checked.success) return functionPage(c, { invoked: { error: `${checked.error.issues[0]?.path.join('.')}: ${checked.error.issues[0]?.message}` }, invokeForm }, 400);
    let out;
    try {
      out = await invocations.invoke({ user: c.get('user') }, { ref: fn.id }, { method, path: path!, query, headers, body: Buffer.from(f.body ?? '', 'utf8') }, { trigger: 'api' });
    } catch (err) {
      // Refused before it ran (no ready version, too many calls in flight): said on the page.
      if (!(err instanceof AppError) || statusOf(err).status >= 500) throw err;
      return functionPage(c, { invoked: { error: err.detail }, invokeForm }, 400);
    }
    if (out.error) return functionPage(c, { invoked: { error: out.error.detail, executionId: out.executionId }, invokeForm });
    return functionPage(c, {
      invoked: { statusCode: out.statusCode, headers: Object.fromEntries(out.headers), body: out.body.toString('utf8'), executionId: out.executionId, durationMs: out.durationMs, coldStart: out.coldStart, sampled: out.sampled },
      invokeForm,
    });
  });

  // The live log tail (Server-Sent Events) of one's own function.
  app.get('/functions/:name/logs', async (c) => {
    const recent = await executions.recentLines(c.get('user'), c.req.param('name')!, '10m', 100);
    return liveLogStream(c, liveLogs, recent.functionId, recent.lines);
  });

  app.get('/executions/:id', async (c) => {
    try {
      const found = await executions.get(c.get('user'), c.req.param('id'));
      if ('call' in found) {
        const fn = await fns.get(c.get('user'), found.call.functionId);
        return page(c, `Queued call ${found.call.id.slice(0, 8)}`, <AsyncCallPage call={found.call} fnName={fn.name} />);
      }
      const e = found.execution;
      const fn = await fns.get(c.get('user'), e.functionId);
      return page(c, `Execution ${e.id.slice(0, 8)}`, <ExecutionPage e={e} fnName={fn.name} traceUrl={d.traceUrl} />);
    } catch (err) {
      if (err instanceof AppError && err.kind === 'not_found') return page(c, 'Not found', <NotFoundPage what="You have no execution with that id." />, 404);
      throw err;
    }
  });

  // --- fleet (admins) ------------------------------------------------------------------------------------------
  const adminOnly = (c: Context<UiEnv>) => (c.get('principal').role === 'admin' ? undefined : page(c, 'Not found', <NotFoundPage what="This page is for administrators." />, 404));
  app.get('/fleet', async (c) => {
    const denied = adminOnly(c);
    if (denied) return denied;
    const { nodes, alert } = await d.fleet.list();
    const notice = takeFlash(c);
    return page(c, 'Fleet', <FleetPage csrf={c.get('csrf')} nodes={nodes} alert={alert} notice={notice} />);
  });
  for (const undo of [false, true]) {
    app.post(`/fleet/:id/${undo ? 'undrain' : 'drain'}`, async (c) => {
      await form(c);
      const denied = adminOnly(c);
      if (denied) return denied;
      try {
        const n = await d.fleet.drain(c.req.param('id'), undo);
        flash(c, 'ok', `${n.name}: ${n.status}`);
      } catch (err) {
        if (!(err instanceof AppError) || statusOf(err).status >= 500) throw err;
        flash(c, 'error', err.detail);
      }
      return c.redirect('/ui/fleet', 303);
    });
  }

  // --- account ---------------------------------------------------------------------------------------------------
  const accountPage = (c: Context<UiEnv>, notice?: { kind: 'ok' | 'error'; text: string }, status: 200 | 400 = 200) =>
    page(c, 'Account', <AccountPage csrf={c.get('csrf')} email={c.get('principal').email} name={c.get('user').name} notice={notice} />, status);
  app.get('/account', (c) => accountPage(c, takeFlash(c)));
  app.post('/account/name', async (c) => {
    const f = await form(c);
    await d.users.updateProfile(c.get('principal'), { name: (f.name ?? '').slice(0, 200) }, { ip: c.get('clientIp') });
    flash(c, 'ok', 'Saved.');
    return c.redirect('/ui/account', 303);
  });
  app.post('/account/password', async (c) => {
    const f = await form(c);
    try {
      await d.users.changePassword(c.get('principal'), { currentPassword: f.currentPassword ?? '', newPassword: f.newPassword ?? '' }, { ip: c.get('clientIp') });
    } catch (err) {
      if (!(err instanceof AppError) || statusOf(err).status >= 500) throw err;
      return accountPage(c, { kind: 'error', text: err.detail }, 400);
    }
    // Every session ended with the change, this one too: log in again with the new password.
    clearSession(c);
    return c.redirect('/ui/login?next=/ui/account', 303);
  });

  // A refused action (a bad form, an expired CSRF token, something not found) is a page with its status, not JSON.
  app.onError((err, c) => {
    if (!(err instanceof AppError)) {
      d.log.error({ err, path: c.req.path }, 'dashboard request failed');
      return page(c, 'Something went wrong', <NotFoundPage title="Something went wrong" what="The server could not complete this; its log says why." />, 500);
    }
    const { status } = statusOf(err);
    return page(c, 'Not possible', <NotFoundPage title={status === 404 ? 'Not found' : 'Not possible'} what={err.detail} />, status as 400);
  });

  return app;
}
