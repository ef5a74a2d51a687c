// Security events (a refresh token replayed, logins throttled, a bad join token, a disabled account's token) kept in
// the database for the security rules — counted per kind and subject and written at most every 200 ms, so a flood
// of bad requests costs one small insert per subject per flush, never one per request; at most MAX_SUBJECTS
// subjects per flush (the rest are counted under "others").
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import type { Logger } from '../../../common/logger.js';
import { alertsRepo } from './alerts.repo.js';
import type { SecurityEvent } from './rules.js';

const FLUSH_MS = 200;
const MAX_SUBJECTS = 1000;

export class SecurityEvents {
  private pending = new Map<string, { event: SecurityEvent; subject: string; count: number }>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly log: Logger,
    /** Written: the rules may look now. */
    private readonly onWritten: () => void,
  ) {}

  record(event: SecurityEvent, subject: string): void {
    let key = `${event}|${subject}`;
    if (!this.pending.has(key) && this.pending.size >= MAX_SUBJECTS) [key, subject] = [`${event}|others`, 'others'];
    const seen = this.pending.get(key);
    if (seen) seen.count += 1;
    else this.pending.set(key, { event, subject: subject.slice(0, 200), count: 1 });
    this.timer ??= setTimeout(() => void this.flush(), FLUSH_MS);
  }

  /** Writes what was counted (also on stop). */
  flush(): Promise<void> {
    this.timer = undefined;
    if (!this.pending.size) return this.flushing ?? Promise.resolve();
    const rows = [...this.pending.values()].map((e) => ({ id: randomUUID(), ...e, at: Date.now() }));
    this.pending = new Map();
    const prior = this.flushing ?? Promise.resolve();
    this.flushing = prior
      .then(() => alertsRepo.addSecurityEvents(this.db, rows))
      .then(
        () => this.onWritten(),
        (err) => this.log.warn({ err, events: rows.length }, 'security events not written'),
      );
    return this.flushing;
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    await this.flush();
  }
}
