// The Prometheus rules in deploy/prometheus/cpub-alerts.yml against the server's own metrics: every metric a rule
// names is one the server exports (a histogram's _bucket/_count/_sum included), every label it matches on is one the
// metric has, and every label value it names is one the server sets. A rule naming a metric that does not exist
// never fires and never says so: this is what catches a rename.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectDb } from './db/connect.js';
import { migrateToLatest } from './db/migrate.js';
import { EXECUTION_STATUSES } from '../../proto/outcomes.js';
import { Metrics, SECURITY_EVENTS } from './metrics.js';

const RULES = fileURLToPath(new URL('../../../deploy/prometheus/cpub-alerts.yml', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'cpub-metrics-'));
const db = connectDb({ dataDir: dir });

/** The values the server gives the labels rules match on. */
const VALUES: Record<string, Record<string, readonly string[]>> = {
  cpub_invocations_total: { status: EXECUTION_STATUSES },
  cpub_nodes: { status: ['up', 'suspect', 'down', 'draining', 'drained'] },
  cpub_async_attempts_total: { result: ['succeeded', 'retry', 'failed'] },
  cpub_destination_deliveries_total: { result: ['delivered', 'retry', 'failed'] },
  cpub_build_duration_seconds: { result: ['ready', 'failed'] },
  cpub_security_events_total: { event: SECURITY_EVENTS },
};

test.after(async () => {
  await db.close();
  rmSync(dir, { recursive: true, force: true });
});

test('every metric, label and value the alerting rules name is one the server exports', async () => {
  await migrateToLatest(db.kysely);
  const registry = new Metrics(db.kysely).registry;
  const text = readFileSync(RULES, 'utf8');
  const exprs = [...text.matchAll(/expr: \|?\n?((?:.|\n)*?)(?=\n\s+(?:for|labels|annotations):)/g)].map((m) => m[1]!);
  assert.ok(exprs.length >= 10, `rules found: ${exprs.length}`);
  assert.is(exprs.length, (text.match(/- alert:/g) ?? []).length, 'every alert has an expr');
  const named = new Set<string>();
  for (const expr of exprs) {
    for (const m of expr.matchAll(/\b(cpub_[a-z_]+)(\{[^}]*\})?/g)) {
      const series = m[1]!;
      const base = registry.getSingleMetric(series) ? series : series.replace(/_(bucket|count|sum)$/, '');
      const metric = registry.getSingleMetric(base) as unknown as { labelNames?: string[]; constructor: { name: string } } | undefined;
      assert.ok(metric, `the server exports no metric ${series}`);
      if (base !== series) assert.is(metric!.constructor.name, 'Histogram', `${series}: only a histogram has _bucket, _count and _sum`);
      named.add(base);
      for (const [, label, op, value] of (m[2] ?? '').matchAll(/(\w+)\s*(=~|!~|!=|=)\s*"([^"]*)"/g)) {
        assert.ok(metric!.labelNames?.includes(label!), `${base} has no label ${label}`);
        const known = VALUES[base]?.[label!];
        assert.ok(known, `${base}{${label}}: add the values the server sets to VALUES`);
        for (const v of op!.includes('~') ? value!.split('|') : [value!]) assert.ok(known!.includes(v), `${base}{${label}${op}"${value}"}: the server never sets ${v}`);
      }
    }
  }
  assert.ok(named.size >= 8, [...named].join(', '));
});

test.run();
