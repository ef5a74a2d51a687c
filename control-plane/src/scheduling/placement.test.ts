// Table-driven cases for placement: each rule of placement.ts, one row each.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { place, type NodeState } from './placement.js';

const GB = 2 ** 30;
const MB = 2 ** 20;

/** A healthy, empty node with 4 GB and room for 20 containers; `over` changes what a case is about. */
const node = (id: string, over: Partial<NodeState> = {}): NodeState => ({
  id,
  status: 'up',
  connected: true,
  epochCurrent: true,
  capacity: { memoryBytes: 4 * GB, maxContainers: 20 },
  reservedBytes: 0,
  containers: 0,
  warmFree: 0,
  hasImage: false,
  inFlight: 0,
  runtimes: new Set(['node', 'python']),
  ...over,
});

const cases: { name: string; nodes: NodeState[]; memoryMb?: number; turn?: number; runtime?: string; want: string[] }[] = [
  { name: 'a node that does not run the runtime is never chosen', runtime: 'python-ml', nodes: [node('a', { warmFree: 2, hasImage: true }), node('b', { runtimes: new Set(['node', 'python-ml']), reservedBytes: 3 * GB })], want: ['b'] },
  { name: 'no node runs the runtime: nowhere to go', runtime: 'ruby', nodes: [node('a'), node('b')], want: [] },
  { name: 'a call of no named runtime is Node’s', nodes: [node('a', { runtimes: new Set(['python']) }), node('b')], want: ['b'] },
  { name: 'no nodes: nowhere to go', nodes: [], want: [] },
  { name: 'a down node is never chosen', nodes: [node('a', { status: 'down' }), node('b')], want: ['b'] },
  { name: 'a draining node is never chosen', nodes: [node('a', { status: 'draining', warmFree: 3 }), node('b')], want: ['b'] },
  { name: 'a drained node is never chosen', nodes: [node('a', { status: 'drained' })], want: [] },
  { name: 'a node with a stale epoch is never chosen', nodes: [node('a', { epochCurrent: false, warmFree: 1 }), node('b')], want: ['b'] },
  { name: 'a node that is not connected is never chosen', nodes: [node('a', { connected: false }), node('b')], want: ['b'] },
  { name: 'a free warm container wins over more memory', nodes: [node('a', { reservedBytes: 3 * GB, warmFree: 1 }), node('b')], want: ['a', 'b'] },
  { name: 'the image wins over more memory', nodes: [node('a'), node('b', { reservedBytes: 2 * GB, hasImage: true })], want: ['b', 'a'] },
  { name: 'warm beats image beats nothing', nodes: [node('a'), node('b', { hasImage: true }), node('c', { warmFree: 2, hasImage: true })], want: ['c', 'b', 'a'] },
  { name: 'busy warm containers (no free slot) count as the image only', nodes: [node('a', { warmFree: 0, hasImage: true, reservedBytes: GB }), node('b', { hasImage: true })], want: ['b', 'a'] },
  { name: 'the most free memory after the function first', nodes: [node('a', { reservedBytes: 2 * GB }), node('b', { reservedBytes: GB }), node('c', { reservedBytes: 3 * GB })], want: ['b', 'a', 'c'] },
  {
    name: 'bigger hosts take more',
    nodes: [node('small', { capacity: { memoryBytes: 2 * GB, maxContainers: 20 } }), node('big', { capacity: { memoryBytes: 16 * GB, maxContainers: 20 }, reservedBytes: 8 * GB })],
    want: ['big', 'small'],
  },
  { name: 'a node where the function does not fit goes after one where it does', nodes: [node('a', { reservedBytes: 4 * GB - 100 * MB, hasImage: true }), node('b', { reservedBytes: 3 * GB })], memoryMb: 128, want: ['b', 'a'] },
  { name: 'a node at its container limit goes after one with room', nodes: [node('a', { containers: 20, hasImage: true }), node('b', { reservedBytes: 3 * GB, hasImage: true })], want: ['b', 'a'] },
  { name: 'a full node is still a candidate (it may free room; it declines otherwise)', nodes: [node('a', { containers: 20 })], want: ['a'] },
  { name: 'a suspect node only after healthy ones, even with a warm container', nodes: [node('a', { status: 'suspect', warmFree: 1 }), node('b')], want: ['b', 'a'] },
  { name: 'equal memory: fewer calls in flight first', nodes: [node('a', { inFlight: 5 }), node('b', { inFlight: 1 })], want: ['b', 'a'] },
  { name: 'a tie goes to the first at turn 0', nodes: [node('a'), node('b'), node('c')], turn: 0, want: ['a', 'b', 'c'] },
  { name: 'a tie rotates with the turn (1)', nodes: [node('a'), node('b'), node('c')], turn: 1, want: ['b', 'c', 'a'] },
  { name: 'a tie rotates with the turn (5)', nodes: [node('a'), node('b'), node('c')], turn: 5, want: ['c', 'a', 'b'] },
  { name: 'only the tied leaders rotate', nodes: [node('a', { warmFree: 1 }), node('b', { warmFree: 1 }), node('c', { hasImage: true })], turn: 1, want: ['b', 'a', 'c'] },
];

for (const c of cases) {
  test(c.name, () => {
    const got = place({ memoryBytes: (c.memoryMb ?? 128) * MB, turn: c.turn ?? 0, runtime: c.runtime }, c.nodes).map((n) => n.id);
    assert.equal(got, c.want);
  });
}

test('calls of one function spread over equal nodes as turns advance', () => {
  const nodes = [node('a'), node('b'), node('c')];
  const firsts = new Map<string, number>();
  for (let turn = 0; turn < 300; turn++) {
    const id = place({ memoryBytes: 128 * MB, turn }, nodes)[0]!.id;
    firsts.set(id, (firsts.get(id) ?? 0) + 1);
  }
  assert.equal([...firsts.values()], [100, 100, 100]);
});

test.run();
