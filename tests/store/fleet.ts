// Store cases for nodes.repo: the fleet registry, heartbeats stamped with the database's clock, and status changes
// conditional on the heartbeat that was judged.
import * as assert from 'uvu/assert';
import { nodesRepo, runtimesOf, type NodeReport, type NodeUsage } from '../../control-plane/src/fleet/nodes.repo.js';
import type { NodeStatus } from '../../control-plane/src/db/schema.js';
import { NOW, type StoreCases } from '../helpers/store.js';

const REPORT: NodeReport = { epoch: 'e1', memoryBytes: 8_000_000_000, cpus: 2.5, maxContainers: 10, containers: 1, inFlight: 0, limitsEnforced: true, limitNotes: ['no swap limit', 'cgroup v2'], rootless: true, agentVersion: '1.2.3', runtimes: ['node', 'python-ml'] };

const usage = (inFlight: number): NodeUsage => ({ containers: 3, inFlight, memoryBytes: 6_000_000_000, reservedBytes: 5_000_000_000, warm: [{ functionId: 'f1', version: 2, idle: 1, busy: inFlight, floor: 0, keepAliveMs: 300_000, prewarmMs: 0, learned: false }] });

export const fleetCases: StoreCases = (s) => {
  s('nodes: upsert adds a node as down; joining again updates address, credential and TLS, keeps the rest', async ({ db }) => {
    await nodesRepo.upsert(db.kysely, { id: 'n-c', name: 'alpha', advertise: '10.0.0.3:7000', credentialSealed: 'c', tls: false }, NOW);
    await nodesRepo.upsert(db.kysely, { id: 'n-b', name: 'beta', advertise: '10.0.0.2:7000', credentialSealed: 'b1', tls: true }, NOW + 1);
    await nodesRepo.upsert(db.kysely, { id: 'n-a', name: 'alpha', advertise: '10.0.0.1:7000', credentialSealed: 'a', tls: false }, NOW + 1);
    const b = await nodesRepo.get(db.kysely, 'n-b');
    assert.equal(b, {
      id: 'n-b', name: 'beta', advertise: '10.0.0.2:7000', credential_sealed: 'b1', tls: 1, status: 'down', epoch: null, last_heartbeat_at: null,
      memory_bytes: 0, cpus: 0, max_containers: 0, containers: 0, in_flight: 0, limits_enforced: 0, limit_notes: '', rootless: 0, agent_version: '', runtimes: '[]',
      memory_used_bytes: 0, memory_reserved_bytes: 0, disk_bytes: 0, disk_used_bytes: 0, warm: '[]', created_at: NOW + 1, updated_at: NOW + 1,
    });
    assert.ok(await nodesRepo.setStatus(db.kysely, 'n-b', 'up', NOW + 2));
    await nodesRepo.upsert(db.kysely, { id: 'n-b', name: 'beta2', advertise: '10.0.0.2:7001', credentialSealed: 'b2', tls: false }, NOW + 10);
    assert.equal(await nodesRepo.get(db.kysely, 'n-b'), { ...b!, name: 'beta2', advertise: '10.0.0.2:7001', credential_sealed: 'b2', tls: 0, status: 'up', updated_at: NOW + 10 });

    assert.equal((await nodesRepo.list(db.kysely)).map((n) => n.id).filter((id) => id.startsWith('n-')), ['n-c', 'n-a', 'n-b'], 'by age, then id');
    assert.equal((await nodesRepo.byName(db.kysely, 'alpha')).map((n) => n.id).sort(), ['n-a', 'n-c']);
    assert.equal(await nodesRepo.byName(db.kysely, 'nobody'), []);
    assert.is(await nodesRepo.get(db.kysely, 'n-none'), undefined);
  });

  s('nodes: a report records capacity and stamps the heartbeat with the database clock', async ({ db }) => {
    const before = await nodesRepo.dbNow(db.kysely);
    assert.ok(Number.isInteger(before) && Math.abs(before - Date.now()) < 5000, `the database clock is epoch ms: ${before}`);
    await nodesRepo.report(db.kysely, 'n-a', REPORT, 'up', NOW + 20);
    const after = await nodesRepo.dbNow(db.kysely);
    const n = await nodesRepo.get(db.kysely, 'n-a');
    assert.equal(
      [n?.epoch, n?.status, n?.memory_bytes, n?.cpus, n?.max_containers, n?.containers, n?.in_flight, n?.limits_enforced, n?.limit_notes, n?.rootless, n?.agent_version, runtimesOf(n!), n?.updated_at],
      ['e1', 'up', 8_000_000_000, 2.5, 10, 1, 0, 1, 'no swap limit; cgroup v2', 1, '1.2.3', ['node', 'python-ml'], NOW + 20],
    );
    const at = n!.last_heartbeat_at!;
    assert.ok(Number.isInteger(at) && at >= before && at <= after, `heartbeat ${at} within [${before}, ${after}]`);
    assert.is((await nodesRepo.get(db.kysely, 'n-c'))?.epoch, null, 'other nodes untouched');
  });

  s('nodes: a heartbeat of the current epoch updates usage; draining becomes drained once idle; an old epoch changes nothing', async ({ db }) => {
    const steps: [epoch: string, draining: boolean, inFlight: number, status: NodeStatus, stored: number][] = [
      ['e1', false, 2, 'up', 2],
      ['e1', true, 2, 'draining', 2],
      ['e1', true, 0, 'drained', 0],
      ['e0', false, 5, 'drained', 0],
    ];
    for (const [i, [epoch, draining, inFlight, status, stored]] of steps.entries()) {
      const prior = (await nodesRepo.get(db.kysely, 'n-a'))!;
      await nodesRepo.heartbeat(db.kysely, 'n-a', epoch, usage(inFlight), draining, NOW + 30 + i);
      const n = (await nodesRepo.get(db.kysely, 'n-a'))!;
      const what = `epoch ${epoch}, draining ${draining}, ${inFlight} in flight`;
      assert.equal([n.status, n.in_flight], [status, stored], what);
      if (epoch === 'e1') {
        assert.equal([n.containers, n.memory_used_bytes, n.memory_reserved_bytes, JSON.parse(n.warm), n.updated_at], [3, 6_000_000_000, 5_000_000_000, usage(inFlight).warm, NOW + 30 + i], what);
        assert.ok(n.last_heartbeat_at! >= prior.last_heartbeat_at!, what);
      } else {
        assert.equal(n, prior, what);
      }
    }
  });

  s('nodes: setStatus, with ifHeartbeatAt only while no heartbeat came since the one judged', async ({ db }) => {
    const judged = (await nodesRepo.get(db.kysely, 'n-a'))!.last_heartbeat_at!;
    const steps: [status: NodeStatus, ifHeartbeatAt: number | undefined, changed: boolean, after: NodeStatus][] = [
      ['suspect', judged, true, 'suspect'],
      ['down', judged - 1, false, 'suspect'],
      ['up', undefined, true, 'up'],
    ];
    for (const [i, [status, ifAt, changed, after]] of steps.entries()) {
      assert.is(await nodesRepo.setStatus(db.kysely, 'n-a', status, NOW + 40 + i, ifAt), changed, `${status} if ${ifAt}`);
      assert.is((await nodesRepo.get(db.kysely, 'n-a'))?.status, after);
    }
    assert.is(await nodesRepo.setStatus(db.kysely, 'n-none', 'up', NOW), false);
  });

  s('nodes: the metrics’ view — counts by status, and every node not down', async ({ db }) => {
    const all = await nodesRepo.list(db.kysely);
    const counts = new Map<string, number>();
    for (const n of all) counts.set(n.status, (counts.get(n.status) ?? 0) + 1);
    const got = await nodesRepo.countByStatus(db.kysely);
    assert.equal(new Map(got.map((r) => [r.status, Number(r.n)])), counts);
    assert.equal((await nodesRepo.notDown(db.kysely)).map((n) => n.id).sort(), all.filter((n) => n.status !== 'down').map((n) => n.id).sort());
    assert.ok(all.length >= 2, 'the earlier cases left nodes to count');
  });
};
