// `cpub nodes`: the fleet, for admins.
import type { Command } from 'commander';
import type { NodeView } from '../../../control-plane/src/fleet/fleet.service.js';
import { examples, withServerJson, type Ctx } from '../context.js';
import { color, formatBytes, printJson, printTable } from '../output.js';


export function nodesCommand(program: Command, ctx: Ctx): void {
  examples(withServerJson(program.command('nodes').description('worker hosts: status, capacity, usage, whether limits are enforced (admins)')), ['cpub nodes', 'cpub nodes --json']).action(async (opts) => {
    const r = await ctx.api(opts).request<{ nodes: NodeView[] }>('GET', '/api/nodes');
    if (opts.json) return printJson(r);
    const paint: Record<string, (s: string) => string> = { up: color.green, suspect: color.yellow, down: color.red, draining: color.yellow };
    printTable(
      r.nodes.map((n) => ({
        ...n,
        status: (paint[n.status] ?? ((s: string) => s))(n.status),
        capacity: `${formatBytes(n.capacity.memoryBytes)}, ${n.capacity.cpus} CPU`,
        containers: `${n.usage.containers}/${n.capacity.maxContainers}`,
        limits: n.limitsEnforced ? 'enforced' : color.red('NOT enforced'),
        mode: `${n.rootless ? 'rootless' : 'rootful'}${n.tls ? ', tls' : ''}`,
      })),
      [
        ['name', 'NAME'],
        ['advertise', 'ADDRESS'],
        ['status', 'STATUS'],
        ['lastHeartbeatAt', 'LAST HEARTBEAT'],
        ['capacity', 'CAPACITY'],
        ['containers', 'CONTAINERS'],
        ['limits', 'LIMITS'],
        ['mode', 'MODE'],
        ['agentVersion', 'AGENT'],
      ],
    );
  });
}
