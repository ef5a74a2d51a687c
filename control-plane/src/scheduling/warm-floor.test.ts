// Table-driven cases for the warm floor's spread: each rule of warm-floor.ts, one row each.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { floorShares, spreadFloor, type FloorNode } from './warm-floor.js';

const GB = 2 ** 30;
const MB = 2 ** 20;

const node = (id: string, over: Partial<FloorNode> = {}): FloorNode => ({
  id,
  status: 'up',
  connected: true,
  epochCurrent: true,
  capacity: { memoryBytes: 4 * GB, maxContainers: 20 },
  reservedBytes: 0,
  containers: 0,
  has: 0,
  ...over,
});

const cases: { name: string; count: number; memoryMb?: number; nodes: FloorNode[]; want: Record<string, number>; short?: number }[] = [
  { name: 'no nodes: all of it is short', count: 2, nodes: [], want: {}, short: 2 },
  { name: 'two on two nodes: one each', count: 2, nodes: [node('a'), node('b')], want: { a: 1, b: 1 } },
  { name: 'three on two nodes: two and one, the roomier first', count: 3, nodes: [node('a', { reservedBytes: GB }), node('b')], want: { a: 1, b: 2 } },
  { name: 'a node holding the version already is preferred on a tie', count: 1, nodes: [node('a'), node('b', { has: 1, reservedBytes: GB })], want: { b: 1 } },
  { name: 'suspect, draining, down, stale or unconnected nodes keep none', count: 5, nodes: [node('a', { status: 'suspect' }), node('b', { status: 'draining' }), node('c', { status: 'down' }), node('d', { epochCurrent: false }), node('e', { connected: false }), node('f')], want: { f: 5 } },
  { name: 'memory is counted: a full node takes none', count: 2, memoryMb: 512, nodes: [node('a', { reservedBytes: 4 * GB - 256 * MB }), node('b')], want: { b: 2 } },
  { name: 'a container already there needs no room', count: 1, memoryMb: 512, nodes: [node('a', { reservedBytes: 4 * GB, has: 1 })], want: { a: 1 } },
  { name: 'the container cap is counted', count: 3, nodes: [node('a', { containers: 19 }), node('b', { containers: 20 })], want: { a: 1 }, short: 2 },
  { name: 'what fits nowhere is short', count: 4, memoryMb: 1024, nodes: [node('a', { capacity: { memoryBytes: 2 * GB, maxContainers: 20 } })], want: { a: 2 }, short: 2 },
];

for (const c of cases) {
  test(c.name, () => {
    const r = spreadFloor(c.count, (c.memoryMb ?? 128) * MB, c.nodes);
    assert.equal(Object.fromEntries(r.perNode), c.want);
    assert.is(r.shortfall, c.short ?? 0);
  });
}

test('a floor over a split is shared by weight, at least one each; over one version, all of it', () => {
  assert.equal(floorShares(4, null, 3), [{ version: 3, count: 4 }]);
  assert.equal(floorShares(4, '{"1":90,"2":10}', 1), [
    { version: 1, count: 4 },
    { version: 2, count: 1 },
  ]);
  assert.equal(floorShares(10, { '1': 50, '2': 50 }, 1), [
    { version: 1, count: 5 },
    { version: 2, count: 5 },
  ]);
  assert.equal(floorShares(2, { '3': 100 }, 1), [{ version: 3, count: 2 }]);
});

test.run();
