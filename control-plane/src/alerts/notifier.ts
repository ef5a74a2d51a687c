// Sends alert deliveries to their channels, on one replica at a time (the `alert-deliveries` lease): a webhook gets
// the Alertmanager-format group signed like destinations (X-Cpub-Timestamp, X-Cpub-Signature: HMAC-SHA256 with the
// channel's secret); Slack its text; an Alertmanager its API's alert list; email goes through the SMTP server the
// operator configured (CPUB_SMTP_URL). A failure is retried with exponential backoff (1 s doubling to 5 min,
// jittered) up to 10 attempts. URLs obey the destinations' address rules (CPUB_DESTINATION_ALLOW), checked as the
// connection resolves them. At least once: a receiver de-duplicates by X-Cpub-Delivery.
import type { Kysely } from 'kysely';
import type { Transporter } from 'nodemailer';
import type { Database } from '../db/schema.js';
import type { Logger } from '../../../common/logger.js';
import { LeasedLoop, type Leases } from '../maintenance/lease.js';
import type { Sealer } from '../secrets/crypto.js';
import { backoffMs, deliveryAgent, postDelivery, signatureHeaders, type AddressGuard, type DeliveryAgent } from '../async-calls/destinations.js';
import { alertsRepo, type AlertDeliveryRow, type ChannelRow } from './alerts.repo.js';
import { asAlertmanagerAlerts, asText, type AmGroup } from './payload.js';

export interface NotifierOptions {
  passMs?: number;
  baseMs?: number;
  maxBackoffMs?: number;
  maxAttempts?: number;
  timeoutMs?: number;
  /** SMTP: the server's URL (CPUB_SMTP_URL) and the From address; none: email channels cannot send. */
  mail?: { url: string; from: string } | undefined;
  onDelivered?: (type: string, result: 'delivered' | 'retry' | 'failed') => void;
}

export const sealContext = (channelId: string) => `alert-channel:${channelId}`;

export class AlertNotifier {
  private readonly loop: LeasedLoop;
  private readonly inFlight = new Set<string>();
  private readonly agent: DeliveryAgent;
  /** The SMTP transport, made by the first email (nodemailer costs ≈ 0.1 s of a server's start to load). */
  private transport: Promise<Transporter> | undefined;
  private readonly o: Required<Omit<NotifierOptions, 'mail' | 'onDelivered'>> & Pick<NotifierOptions, 'mail' | 'onDelivered'>;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly sealer: Sealer,
    private readonly guard: AddressGuard,
    private readonly log: Logger,
    leases: Leases | undefined,
    o: NotifierOptions = {},
  ) {
    this.o = { passMs: 1000, baseMs: 1000, maxBackoffMs: 300_000, maxAttempts: 10, timeoutMs: 10_000, ...o };
    this.loop = new LeasedLoop('alert-deliveries', () => this.pass(), log, leases, this.o.passMs, 10_000);
    this.agent = deliveryAgent(this.guard, this.o.timeoutMs);
  }

  start(): void {
    this.loop.start();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
    await this.agent.close();
    if (this.transport) await this.transport.then((t) => t.close()).catch(() => {});
  }

  private mailer(url: string): Promise<Transporter> {
    return (this.transport ??= import('nodemailer').then(({ createTransport }) => createTransport({ url, connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 10_000 })));
  }

  wake(): void {
    this.loop.wake();
  }

  private async pass(): Promise<number | null> {
    for (const d of await alertsRepo.due(this.db, Date.now(), 16)) {
      if (this.inFlight.has(d.id) || this.inFlight.size >= 16) continue;
      this.inFlight.add(d.id);
      void this.deliver(d)
        .catch((err) => this.log.warn({ err, delivery: d.id }, 'alert delivery not settled; it will be tried again'))
        .finally(() => {
          this.inFlight.delete(d.id);
          this.wake();
        });
    }
    return alertsRepo.earliest(this.db);
  }

  private async deliver(d: AlertDeliveryRow): Promise<void> {
    if (!(await alertsRepo.claim(this.db, d, Date.now() + 3 * this.o.timeoutMs))) return;
    const channel = await alertsRepo.channel(this.db, d.channel_id);
    const attempts = d.attempts + 1;
    const error = channel ? await this.send(channel, d.id, JSON.parse(d.body) as AmGroup).catch((err: Error) => err.message) : 'the channel was deleted';
    const now = Date.now();
    const type = channel?.type ?? 'unknown';
    if (error === null) {
      await alertsRepo.finish(this.db, d.id, { state: 'delivered', last_error: null, finished_at: now });
      this.o.onDelivered?.(type, 'delivered');
    } else if (attempts >= this.o.maxAttempts || !channel) {
      await alertsRepo.finish(this.db, d.id, { state: 'failed', last_error: error, finished_at: now });
      this.log.warn({ delivery: d.id, channel: d.channel_id, error }, 'alert delivery failed after its last attempt');
      this.o.onDelivered?.(type, 'failed');
    } else {
      await alertsRepo.finish(this.db, d.id, { due_at: now + backoffMs(attempts, this.o.baseMs, this.o.maxBackoffMs), last_error: error });
      this.o.onDelivered?.(type, 'retry');
    }
  }

  /** One attempt; the error (a sentence) or null when it was taken. */
  async send(ch: ChannelRow, deliveryId: string, g: AmGroup): Promise<string | null> {
    if (ch.type === 'email') {
      if (!this.o.mail) return 'no SMTP server is configured (CPUB_SMTP_URL)';
      const { title, text } = asText(g);
      await (await this.mailer(this.o.mail.url)).sendMail({ from: this.o.mail.from, to: ch.target, subject: `ContainerPub ${title}`, text, headers: { 'X-Cpub-Delivery': deliveryId } });
      return null;
    }
    let url = ch.target;
    let body: Buffer;
    const headers: Record<string, string> = { 'user-agent': 'ContainerPub-Alerts/1', 'x-cpub-delivery': deliveryId };
    if (ch.type === 'slack') body = Buffer.from(JSON.stringify({ text: asText(g).text }));
    else if (ch.type === 'alertmanager') {
      url = `${ch.target.replace(/\/+$/, '')}/api/v2/alerts`;
      body = Buffer.from(JSON.stringify(asAlertmanagerAlerts(g)));
    } else {
      body = Buffer.from(JSON.stringify(g));
      if (ch.secret_sealed) Object.assign(headers, signatureHeaders(this.sealer.open(ch.secret_sealed, sealContext(ch.id)), body));
    }
    return postDelivery(this.guard, this.agent, url, body, headers, this.o.timeoutMs, 'the channel');
  }
}
