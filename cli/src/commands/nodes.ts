// `cpub nodes [list] | drain | undrain`: the fleet, for admins.
import type { Command } from 'commander';
import type { NodeList, NodeView } from '../../../common/api-types.js';
import { enc, examples, withServer, withServerJson, type Ctx } from '../context.js';
import { CliError, color, formatBytes, printJson, printTable } from '../output.js';

const paint: Record<string, (s: string) => string> = { up: color.green, suspect: color.yellow, down: color.red, draining: color.yellow, drained: color.yellow };

export function nodesCommand(program: Command, ctx: Ctx): void {
  const nodes = program.command('nodes').description('worker hosts: status, capacity, usage, whether limits are enforced, the runtimes each runs; drain and undrain (admins)');

  examples(withServerJson(nodes.command('list', { isDefault: true }).description('the fleet (the default: `cpub nodes`)')), ['cpub nodes', 'cpub nodes --json']).action(async (opts) => {
    const r = await ctx.api(opts).request<NodeList>('GET', '/api/nodes');
    if (opts.json) return printJson(r);
    if (r.alert) console.error(color.red(`alert: ${r.alert}`));
    printTable(
      r.nodes.map((n) => ({
        ...n,
        shortId: n.id.slice(0, 8),
        status: (paint[n.status] ?? ((s: string) => s))(n.status),
        memory: `${formatBytes(n.usage.memoryReservedBytes)} / ${formatBytes(n.capacity.memoryBytes)}`,
        containers: `${n.usage.containers}/${n.capacity.maxContainers}`,
        warm: String(n.warm.reduce((sum, w) => sum + w.idle + w.busy, 0)),
        limits: n.limitsEnforced ? 'enforced' : color.red('NOT enforced'),
        mode: `${n.rootless ? 'rootless' : 'rootful'}${n.tls ? ', tls' : ''}`,
        runtimes: (n.runtimes ?? []).join(',') || '-',
      })),
      [
        ['shortId', 'ID'],
        ['name', 'NAME'],
        ['advertise', 'ADDRESS'],
        ['status', 'STATUS'],
        ['lastHeartbeatAt', 'LAST HEARTBEAT'],
        ['memory', 'MEMORY (RESERVED/CAPACITY)'],
        ['containers', 'CONTAINERS'],
        ['warm', 'WARM'],
        ['limits', 'LIMITS'],
        ['mode', 'MODE'],
        ['runtimes', 'RUNTIMES'],
        ['agentVersion', 'AGENT'],
      ],
    );
  });

  for (const undo of [false, true]) {
    const name = undo ? 'undrain' : 'drain';
    examples(
      withServer(
        nodes
          .command(`${name} <node>`)
          .description(undo ? 'let a drained node take calls again' : 'finish the calls in flight on a node and send it no new ones (before maintenance)'),
      ),
      [`cpub nodes ${name} worker1`, `cpub nodes ${name} 3f1c9a02   # an id, or its start as \`cpub nodes\` shows it`],
    ).action(async (ref: string, opts) => {
      const api = ctx.api(opts);
      const { nodes: all } = await api.request<NodeList>('GET', '/api/nodes');
      // The id, then a name, then the start of an id (as `cpub nodes` shows it): each must name one node.
      const exact = all.filter((n) => n.id === ref);
      const named = all.filter((n) => n.name === ref);
      const prefixed = ref.length >= 4 ? all.filter((n) => n.id.startsWith(ref)) : [];
      const matches = exact.length ? exact : named.length ? named : prefixed;
      if (matches.length !== 1) {
        throw new CliError(
          matches.length ? 'ambiguous node' : 'no such node',
          matches.length ? `${matches.length} nodes match ${ref}: give its id (the ID column of \`cpub nodes\`)` : `${ref} is neither a node id nor a node name (see \`cpub nodes\`)`,
        );
      }
      const n = await api.request<NodeView>('POST', `/api/nodes/${enc(matches[0]!.id)}/${name}`);
      console.log(`${n.name}: ${n.status}${n.status === 'draining' ? ` (${n.usage.inFlight} calls in flight; \`cpub nodes\` shows when it is drained)` : ''}`);
    });
  }
}
