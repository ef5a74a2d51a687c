// maxInstances is fleet-wide: the instances a node may run of a version are the cap less what the other nodes hold
// (their last heartbeats), never less than one, so a call placed there can run.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Fleet } from './fleet.service.js';
import type { AgentLink } from './agent-link.js';

/** A fleet whose links are stand-ins holding only what capOn reads: the warm containers per version. */
function fleetOf(warm: Record<string, Record<string, number>>): { fleet: Fleet; link: (id: string) => AgentLink } {
  const fleet = new Fleet(undefined as never, undefined as never, 'join', undefined as never);
  const links = (fleet as unknown as { links: Map<string, AgentLink> }).links;
  for (const [id, versions] of Object.entries(warm)) links.set(id, { nodeId: id, warm: new Map(Object.entries(versions)) } as unknown as AgentLink);
  return { fleet, link: (id) => links.get(id)! };
}

test('a node may run the cap less what the others hold', () => {
  const { fleet, link } = fleetOf({ a: { 'f@1': 1 }, b: { 'f@1': 2, 'g@1': 5 }, c: {} });
  assert.is(fleet.capOn(link('a'), 'f@1', 4), 2, 'b holds 2 of 4');
  assert.is(fleet.capOn(link('c'), 'f@1', 4), 1, 'a and b hold 3 of 4');
  assert.is(fleet.capOn(link('b'), 'f@1', 4), 3, 'a holds 1');
  assert.is(fleet.capOn(link('a'), 'f@2', 4), 4, 'another version is not counted');
});

test('never less than one: a call placed on a node can always run there', () => {
  const { fleet, link } = fleetOf({ a: { 'f@1': 3 }, b: { 'f@1': 3 } });
  assert.is(fleet.capOn(link('b'), 'f@1', 2), 1);
});

test.run();
