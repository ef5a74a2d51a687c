/** @jsxImportSource hono/jsx */
// The dashboard's alerts: the page (the team's, or the fleet's for administrators), its two actions (silence an
// alert for an hour, end a silence), and what the banner on every page says is firing.
import type { Context, Hono } from 'hono';
import type { Child } from 'hono/jsx';
import type { AlertsService } from '../alerts/alerts.service.js';
import { AppError, statusOf } from '../errors.js';
import { AlertsPage } from './pages/index.js';
import { flash, takeFlash, type UiEnv } from './session.js';

type Page = (c: Context<UiEnv>, title: string, body: Child) => Response | Promise<Response>;
type Form = (c: Context<UiEnv>) => Promise<Record<string, string>>;

/** What is firing for the caller (their team's; the fleet's too for an administrator): for the banner. */
export async function firingNow(alerts: AlertsService, c: Context<UiEnv>): Promise<{ count: number; first: string[] } | undefined> {
  const user = c.get('user');
  if (!user) return undefined;
  try {
    const mine = await alerts.alerts(user, { state: 'firing', limit: 20 });
    const fleet = c.get('principal')?.role === 'admin' ? await alerts.alerts(user, { fleet: true, state: 'firing', limit: 20 }) : [];
    const seen = new Map([...mine, ...fleet].filter((a) => !a.silenced).map((a) => [a.id, a]));
    return seen.size ? { count: seen.size, first: [...seen.values()].slice(0, 3).map((a) => a.summary) } : undefined;
  } catch {
    return undefined;
  }
}

export function alertsUi(app: Hono<UiEnv>, alerts: AlertsService, page: Page, form: Form): void {
  const fleetOf = (c: Context<UiEnv>, f?: Record<string, string>) => (f?.fleet ?? c.req.query('fleet')) === '1' && c.get('principal').role === 'admin';
  const back = (fleet: boolean) => (fleet ? '/ui/alerts?fleet=1' : '/ui/alerts');

  app.get('/alerts', async (c) => {
    const user = c.get('user');
    const fleet = fleetOf(c);
    const [list, rules, channels, silences] = await Promise.all([alerts.alerts(user, { fleet, state: 'all', limit: 100 }), alerts.rules(user, fleet), alerts.channels(user, fleet), alerts.silences(user, fleet)]);
    const open = await alerts.alerts(user, { fleet, state: 'open', limit: 100 });
    return page(c, 'Alerts', <AlertsPage csrf={c.get('csrf')} fleet={fleet} admin={c.get('principal').role === 'admin'} alerts={[...open, ...list.filter((a) => a.state === 'resolved')]} rules={rules} channels={channels} silences={silences} notice={takeFlash(c)} />);
  });

  const act = (path: string, run: (c: Context<UiEnv>, f: Record<string, string>, fleet: boolean) => Promise<string>) =>
    app.post(path, async (c) => {
      const f = await form(c);
      const fleet = fleetOf(c, f);
      try {
        flash(c, 'ok', await run(c, f, fleet));
      } catch (err) {
        if (!(err instanceof AppError) || statusOf(err).status >= 500) throw err;
        flash(c, 'error', err.detail);
      }
      return c.redirect(back(fleet), 303);
    });
  act('/alerts/silence', async (c, f, fleet) => {
    const s = await alerts.createSilence(c.get('user'), { ruleId: f.ruleId || undefined, function: f.function || undefined, durationSec: 3600, comment: 'from the dashboard', fleet });
    return `Silenced until ${s.endsAt}.`;
  });
  act('/alerts/unsilence', async (c, f) => {
    await alerts.endSilence(c.get('user'), f.id ?? '');
    return 'Silence ended.';
  });
}
