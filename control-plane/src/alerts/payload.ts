// What a channel is sent: a group of alerts of one rule that changed together, in Alertmanager's webhook format
// (version 4), so receivers written for Alertmanager work as they are. Slack and email get it as text; an
// Alertmanager gets its own API's alert list (POST /api/v2/alerts), so its routing and silences apply.
import type { AlertRow } from './alerts.repo.js';

export interface AmAlert {
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
  fingerprint: string;
}

export interface AmGroup {
  version: '4';
  groupKey: string;
  truncatedAlerts: number;
  status: 'firing' | 'resolved';
  receiver: string;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  externalURL: string;
  alerts: AmAlert[];
}

/** Alertmanager's "no end yet". */
const ZERO_TIME = '0001-01-01T00:00:00Z';
const iso = (ms: number) => new Date(ms).toISOString();

export function amAlert(a: AlertRow, status: 'firing' | 'resolved', baseUrl: string): AmAlert {
  return {
    status,
    labels: JSON.parse(a.labels) as Record<string, string>,
    annotations: { summary: a.summary, value: String(Math.round(a.value * 100) / 100), threshold: String(Math.round(a.threshold * 100) / 100) },
    startsAt: iso(Number(a.fired_at ?? a.started_at)),
    endsAt: status === 'resolved' && a.resolved_at != null ? iso(Number(a.resolved_at)) : ZERO_TIME,
    generatorURL: `${baseUrl}/dashboard/alerts`,
    fingerprint: a.fingerprint,
  };
}

/** The group sent to a channel named `receiver` for alerts of one rule that all went to `status`. */
export function amGroup(receiver: string, ruleId: string, alertname: string, status: 'firing' | 'resolved', alerts: AmAlert[], baseUrl: string): AmGroup {
  const common = (pick: (a: AmAlert) => Record<string, string>) => {
    const [first, ...rest] = alerts.map(pick);
    return Object.fromEntries(Object.entries(first ?? {}).filter(([k, v]) => rest.every((o) => o[k] === v)));
  };
  return {
    version: '4',
    groupKey: `{}:{alertname="${alertname}",rule="${ruleId}"}`,
    truncatedAlerts: 0,
    status,
    receiver,
    groupLabels: { alertname, rule: ruleId },
    commonLabels: common((a) => a.labels),
    commonAnnotations: common((a) => a.annotations),
    externalURL: baseUrl,
    alerts,
  };
}

/** One line per alert, under a title: what Slack and email show. */
export function asText(g: AmGroup): { title: string; text: string } {
  const title = `[${g.status.toUpperCase()}${g.status === 'firing' ? `:${g.alerts.length}` : ''}] ${g.groupLabels.alertname}`;
  const lines = g.alerts.map((a) => `• ${a.status === 'resolved' ? 'resolved: ' : ''}${a.annotations.summary}`);
  return { title, text: `${title}\n${lines.join('\n')}\n${g.externalURL}/dashboard/alerts` };
}

/** Alertmanager's API body (POST /api/v2/alerts): each alert with its start and, once resolved, its end. */
export function asAlertmanagerAlerts(g: AmGroup): object[] {
  return g.alerts.map((a) => ({ labels: a.labels, annotations: a.annotations, startsAt: a.startsAt, ...(a.endsAt === ZERO_TIME ? {} : { endsAt: a.endsAt }), generatorURL: a.generatorURL }));
}
