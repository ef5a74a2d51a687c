// Store cases for alerts.repo's held notifications: what a silence held back from a channel, one row per alert and
// channel (a second hold replaces the first), read with its alert as it is now, gone with its alert or its channel.
import * as assert from 'uvu/assert';
import { alertsRepo, type AlertRow } from '../../control-plane/src/alerts/alerts.repo.js';
import { NOW, type StoreCases } from '../helpers/store.js';

const alert = (id: string, state: 'firing' | 'resolved'): AlertRow => ({ id, rule_id: 'builtin:node-down', fingerprint: `fp-${id}`, owner_id: null, function_id: null, labels: '{}', summary: id, state, value: 1, threshold: 1, started_at: NOW, fired_at: NOW, clear_since: null, resolved_at: state === 'resolved' ? NOW : null, notified: 'none', updated_at: NOW });
const channel = (id: string) => ({ id, owner_id: null, name: id, type: 'webhook', target: 'http://127.0.0.1:9/', secret_sealed: null, created_by: null, created_at: NOW });

export const alertsCases: StoreCases = (s) => {
  s('alerts: held notifications — one per alert and channel, read with the alert, gone with it or its channel', async ({ db }) => {
    const k = db.kysely;
    for (const a of [alert('a1', 'firing'), alert('a2', 'resolved')]) await alertsRepo.insertAlert(k, a);
    for (const c of ['c1', 'c2']) await alertsRepo.insertChannel(k, channel(c));
    await alertsRepo.hold(k, [
      { alert_id: 'a1', channel_id: 'c1', state: 'firing', held_at: NOW },
      { alert_id: 'a1', channel_id: 'c2', state: 'firing', held_at: NOW },
      { alert_id: 'a2', channel_id: 'c1', state: 'firing', held_at: NOW },
    ]);
    await alertsRepo.hold(k, [{ alert_id: 'a2', channel_id: 'c1', state: 'resolved', held_at: NOW + 1 }]);
    const view = async () => (await alertsRepo.held(k)).map((h) => `${h.id}/${h.held_channel} ${h.held_state} (alert ${h.state})`).sort();
    assert.equal(await view(), ['a1/c1 firing (alert firing)', 'a1/c2 firing (alert firing)', 'a2/c1 resolved (alert resolved)']);
    await alertsRepo.unhold(k, [{ alert_id: 'a1', channel_id: 'c1' }]);
    assert.equal(await view(), ['a1/c2 firing (alert firing)', 'a2/c1 resolved (alert resolved)']);
    await alertsRepo.deleteChannel(k, 'c2');
    await alertsRepo.deleteAlert(k, 'a2');
    assert.equal(await view(), [], 'a deleted channel or alert takes its held notifications with it');
  });
};
