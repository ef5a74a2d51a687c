// The alerting tables (migration 0024): rules (the built-in ones only when an operator changed them), alerts (one
// row per rule and subject while it is pending or firing, kept once resolved: the history), channels, silences,
// the deliveries waiting to go out, and the security events the security rules count.

/** A rule an owner made, or a built-in one as an operator changed it (id `builtin:…`). */
export interface AlertRulesTable {
  id: string;
  /** The team it belongs to; null: a fleet rule (admins), which covers every function. */
  owner_id: string | null;
  /** One function only; null: all the owner's (or, for a fleet rule, every function). */
  function_id: string | null;
  name: string;
  kind: string;
  /** JSON: alerts/rules.ts RuleParams. */
  params: string;
  /** 0/1 */
  enabled: number;
  created_at: number;
  updated_at: number;
}

export interface AlertsTable {
  id: string;
  rule_id: string;
  /** The rule and its subject: one alert at a time per fingerprint is pending or firing. */
  fingerprint: string;
  /** Who sees it: the function's team; null: the fleet's (admins). */
  owner_id: string | null;
  function_id: string | null;
  /** JSON {name: value}: alertname, severity, function, node, event, subject. */
  labels: string;
  summary: string;
  /** pending → firing → resolved; pending → resolved (cleared before it fired, never delivered). */
  state: 'pending' | 'firing' | 'resolved';
  value: number;
  threshold: number;
  /** When the condition was first seen (pending since). */
  started_at: number;
  fired_at: number | null;
  /** When it last held below its clearing level (hysteresis: it resolves once that has lasted). */
  clear_since: number | null;
  resolved_at: number | null;
  /** none | firing | resolved: what its channels were last told. */
  notified: string;
  updated_at: number;
}

export interface AlertChannelsTable {
  id: string;
  owner_id: string | null;
  name: string;
  /** webhook | slack | alertmanager | email */
  type: string;
  /** The URL (webhook, slack, alertmanager) or the addresses (email, comma-separated). */
  target: string;
  /** A webhook's signing secret, sealed; null for the other types. */
  secret_sealed: string | null;
  created_by: string | null;
  created_at: number;
}

export interface AlertSilencesTable {
  id: string;
  owner_id: string | null;
  /** JSON {ruleId?, functionId?, kind?, subject?}: every field given must match. */
  matchers: string;
  comment: string;
  created_by: string | null;
  created_at: number;
  ends_at: number;
}

/**
 * What a silence held back from a channel: the alert's firing (sent when the silence ends if the alert still fires;
 * dropped if it resolved meanwhile — the channel never heard it fire) or its resolution (sent when the silence ends).
 */
export interface AlertHeldTable {
  alert_id: string;
  channel_id: string;
  state: 'firing' | 'resolved';
  held_at: number;
}

export interface AlertDeliveriesTable {
  id: string;
  channel_id: string;
  /** JSON: the Alertmanager-style group (alerts/payload.ts); rendered for the channel's type as it is sent. */
  body: string;
  state: 'pending' | 'delivered' | 'failed';
  attempts: number;
  due_at: number;
  last_error: string | null;
  created_at: number;
  finished_at: number | null;
}

export interface SecurityEventsTable {
  id: string;
  event: string;
  /** Whose: an account, an address, a node name. */
  subject: string;
  /** Events of the same kind and subject within a second are one row. */
  count: number;
  at: number;
}

export interface AlertTables {
  alert_rules: AlertRulesTable;
  alerts: AlertsTable;
  alert_channels: AlertChannelsTable;
  alert_silences: AlertSilencesTable;
  alert_held: AlertHeldTable;
  alert_deliveries: AlertDeliveriesTable;
  security_events: SecurityEventsTable;
}
