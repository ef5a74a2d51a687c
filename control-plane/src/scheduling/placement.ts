// Placement: which node runs a call (or a build). A pure function of what the control plane knows about each
// node, so every rule is a table-driven unit test (placement.test.ts):
//   1. never a node that is down, draining, drained, not connected, whose epoch is not the one dialled, or that
//      does not run the version's runtime (node, python, an operator's);
//   2. nodes where the call fits (a free warm container, or room for one more container by memory and
//      container count) before full ones (which may free room, or decline); `suspect` nodes after all others;
//   3. a node with a free warm container of the version first, then one that has the image, then the rest;
//      within each, the most free memory after the function's memory (spreading), then fewer calls in flight;
//   4. ties go round-robin by the call's turn, so one function's calls do not all pile on one node.
// The answer is every eligible node, best first: a node that declines (full) is skipped and the next tried.

export interface NodeState {
  id: string;
  status: string;
  /** The link is connected and the node's replies carry the epoch it was dialled at. */
  connected: boolean;
  epochCurrent: boolean;
  capacity: { memoryBytes: number; maxContainers: number };
  /** Memory limits of the containers on the node, and how many there are (last heartbeat, plus cold starts sent since). */
  reservedBytes: number;
  containers: number;
  /** Free warm slots for this call's version (warm containers × concurrency − calls on them). */
  warmFree: number;
  /** The node has this version's image. */
  hasImage: boolean;
  /** Calls this control plane has in flight on the node. */
  inFlight: number;
  /** The runtimes it can build functions on (its Info). */
  runtimes: ReadonlySet<string>;
}

export interface PlacementCall {
  /** The function's memory limit, bytes. */
  memoryBytes: number;
  /** A counter that moves with every call of the function: rotates ties. */
  turn: number;
  /** The version's runtime; default "node". */
  runtime?: string;
}

const ELIGIBLE = new Set(['up', 'suspect']);

/** The nodes that may take the call, best first (empty: no node can). */
export function place(call: PlacementCall, nodes: readonly NodeState[]): NodeState[] {
  const runtime = call.runtime ?? 'node';
  const eligible = nodes.filter((n) => ELIGIBLE.has(n.status) && n.connected && n.epochCurrent && n.runtimes.has(runtime));
  // One node (a fleet of one, the common case): nothing to order.
  if (eligible.length <= 1) return eligible;
  const scored = eligible.map((n) => {
    const tier = n.warmFree > 0 ? 0 : n.hasImage ? 1 : 2;
    const freeAfter = n.capacity.memoryBytes - n.reservedBytes - call.memoryBytes;
    const fits = tier === 0 || (freeAfter >= 0 && n.containers < n.capacity.maxContainers);
    return { n, key: [n.status === 'suspect' ? 1 : 0, fits ? 0 : 1, tier, -freeAfter, n.inFlight] };
  });
  scored.sort((a, b) => {
    for (let k = 0; k < a.key.length; k++) if (a.key[k] !== b.key[k]) return a.key[k]! - b.key[k]!;
    return 0;
  });
  // Round-robin among the leading nodes that tie on every key.
  const lead = scored.filter((s) => s.key.every((v, k) => v === scored[0]!.key[k])).length;
  if (lead > 1) {
    const shift = ((call.turn % lead) + lead) % lead;
    const tied = scored.splice(0, lead);
    scored.unshift(...tied.slice(shift), ...tied.slice(0, shift));
  }
  return scored.map((s) => s.n);
}
