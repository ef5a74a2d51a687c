// The warm floor's spread: how many containers of a version each node keeps for it. A pure function of what the
// control plane knows about the nodes, so each rule is a table-driven case (warm-floor.test.ts):
//   1. only nodes that can take calls (up, connected, current epoch; not suspect, draining or down);
//   2. spread: each next container goes to the node holding the fewest so far, so a floor of 2 on two nodes is
//      one on each, and losing a node loses as little of the floor as it can;
//   3. ties go to a node that has the version's containers already (they need no start), then to the one with
//      the most free memory;
//   4. a container that needs a start must fit in the node's memory (its limit, counted against what the node has
//      reserved) and under its container cap; what fits nowhere is the floor's shortfall.
import type { NodeState } from './placement.js';

/** What placement and the warm floor both know of a node. */
export type NodeBasics = Pick<NodeState, 'id' | 'status' | 'connected' | 'epochCurrent' | 'capacity' | 'reservedBytes' | 'containers'>;

export interface FloorNode extends NodeBasics {
  /** Live containers of this version there now. */
  has: number;
}

/** Containers each node should keep (nodes given none are left out), and how many of `count` fit nowhere. */
export function spreadFloor(count: number, memoryBytes: number, nodes: readonly FloorNode[]): { perNode: Map<string, number>; shortfall: number } {
  const eligible = nodes.filter((n) => n.status === 'up' && n.connected && n.epochCurrent);
  const given = new Map<string, number>(eligible.map((n) => [n.id, 0]));
  const fits = (n: FloorNode, k: number) => {
    const starts = Math.max(0, k - n.has);
    return starts === 0 || (n.reservedBytes + starts * memoryBytes <= n.capacity.memoryBytes && n.containers + starts <= n.capacity.maxContainers);
  };
  let placed = 0;
  for (; placed < count; placed++) {
    const next = eligible
      .filter((n) => fits(n, given.get(n.id)! + 1))
      .sort((a, b) => given.get(a.id)! - given.get(b.id)! || Number(given.get(b.id)! < b.has) - Number(given.get(a.id)! < a.has) || b.capacity.memoryBytes - b.reservedBytes - (a.capacity.memoryBytes - a.reservedBytes) || (a.id < b.id ? -1 : 1))[0];
    if (!next) break;
    given.set(next.id, given.get(next.id)! + 1);
  }
  return { perNode: new Map([...given].filter(([, k]) => k > 0)), shortfall: count - placed };
}

/**
 * A floor of `min` containers over the versions an alias sends calls to: all of it to a single version; over a split,
 * shared by weight, at least one each. `weights` as stored (JSON {"<version>": percent}), or null: `version` alone.
 */
export function floorShares(min: number, weights: string | Record<string, number> | null, version: number): { version: number; count: number }[] {
  const parsed = typeof weights === 'string' ? (JSON.parse(weights) as Record<string, number>) : weights;
  const split = parsed ? Object.entries(parsed).filter(([, w]) => w > 0) : [];
  if (split.length < 2) return [{ version: split.length ? Number(split[0]![0]) : version, count: min }];
  return split.map(([v, w]) => ({ version: Number(v), count: Math.max(1, Math.round((min * w) / 100)) }));
}
