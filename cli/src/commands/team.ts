// `cpub team create | list | switch | members | invite | join | role | remove | leave | delete` and `cpub audit`:
// teams, their members and roles, the team commands work in, and the audit trail.
import type { Command } from 'commander';
import type { AuditEntryView, InvitationView, TeamMemberView, TeamUsageView, TeamView } from '../../../common/api-types.js';
import { enc, examples, withServer, withServerJson, type Ctx } from '../context.js';
import { CliError, color, printJson, printTable } from '../output.js';

const ROLES = ['owner', 'admin', 'developer', 'viewer'];
const role = (r: string) => {
  if (!ROLES.includes(r)) throw new CliError('invalid role', `${r}: use ${ROLES.join(', ')}`, 2);
  return r;
};

export function teamCommands(program: Command, ctx: Ctx): void {
  const team = program
    .command('team')
    .description('teams: shared functions with roles (owner, admin, developer, viewer). Commands work in the team `cpub team switch` chose (or CPUB_TEAM); without one, in your personal team');

  /** The team a command names, else the one commands work in. */
  const current = async (opts: { server?: string }, given?: string): Promise<string> => {
    if (given) return given;
    const api = ctx.api(opts);
    if (api.team) return api.team;
    const r = await api.request<{ teams: TeamView[] }>('GET', '/api/teams');
    return r.teams.find((t) => t.personal)!.handle;
  };

  examples(withServerJson(team.command('create <name>').description('create a team; you are its owner')).option('--handle <handle>', 'its handle in function URLs (/fn/<handle>/<name>); default: from the name'), [
    'cpub team create "Payments" --handle payments',
  ]).action(async (name: string, opts) => {
    const r = await ctx.api(opts).request<{ team: TeamView }>('POST', '/api/teams', { name, ...(opts.handle ? { handle: opts.handle } : {}) });
    if (opts.json) return printJson(r);
    console.log(`created team ${r.team.handle} (${r.team.name}); work in it with: cpub team switch ${r.team.handle}`);
  });

  examples(withServerJson(team.command('list').description('your teams and your role in each (* the one commands work in)')), ['cpub team list']).action(async (opts) => {
    const api = ctx.api(opts);
    const r = await api.request<{ teams: TeamView[] }>('GET', '/api/teams');
    if (opts.json) return printJson(r);
    const now = api.team;
    printTable(
      r.teams.map((t) => ({ ...t, current: (now ? t.handle === now : t.personal) ? '*' : '', kind: t.personal ? 'personal' : 'team' })),
      [
        ['current', ''],
        ['handle', 'HANDLE'],
        ['name', 'NAME'],
        ['role', 'ROLE'],
        ['kind', 'KIND'],
      ],
    );
  });

  examples(withServer(team.command('switch [handle]').description('work in this team from now on (no handle: your personal team)')), ['cpub team switch payments', 'cpub team switch   # back to your personal team']).action(async (handle: string | undefined, opts) => {
    const api = ctx.api(opts);
    const r = await api.request<{ teams: TeamView[] }>('GET', '/api/teams');
    const t = handle ? r.teams.find((x) => x.handle === handle) : r.teams.find((x) => x.personal);
    if (!t) throw new CliError('no such team', `you are not in a team ${handle}: cpub team list shows yours`, 1);
    api.saveTeam(t.personal ? undefined : t.handle);
    console.log(`now working in ${t.personal ? 'your personal team' : `team ${t.handle}`} (${t.handle}, as ${t.role})`);
    if (ctx.env.CPUB_TEAM) console.error(color.yellow(`note: CPUB_TEAM=${ctx.env.CPUB_TEAM} is set and wins over this`, process.stderr));
  });

  examples(withServerJson(team.command('members [handle]').description('the members of a team and their roles')), ['cpub team members payments']).action(async (handle: string | undefined, opts) => {
    const h = await current(opts, handle);
    const r = await ctx.api(opts).request<{ members: TeamMemberView[] }>('GET', `/api/teams/${enc(h)}/members`);
    if (opts.json) return printJson(r);
    printTable(r.members.map((m) => ({ ...m })), [
      ['email', 'EMAIL'],
      ['name', 'NAME'],
      ['role', 'ROLE'],
      ['since', 'SINCE'],
    ]);
  });

  examples(withServerJson(team.command('invite <email>').description('invite someone with a role (owners); prints the token they accept with').option('--role <role>', ROLES.join(', '), 'developer').option('--team <handle>', 'the team (default: the current one)')), [
    'cpub team invite ann@example.com --role viewer',
  ]).action(async (email: string, opts) => {
    const h = await current(opts, opts.team);
    const r = await ctx.api(opts).request<{ invitation: InvitationView & { token: string } }>('POST', `/api/teams/${enc(h)}/invitations`, { email, role: role(opts.role) });
    if (opts.json) return printJson(r);
    console.log(r.invitation.token);
    console.error(color.yellow(`↑ the invitation of ${email} to ${h} as ${r.invitation.role}, until ${r.invitation.expiresAt}: shown this once. They join with: cpub team join <token>`, process.stderr));
  });

  examples(withServerJson(team.command('join <token>').description('accept an invitation (signed in with the address it was sent to)')), ['cpub team join cpi_…']).action(async (token: string, opts) => {
    const r = await ctx.api(opts).request<{ team: TeamView }>('POST', `/api/invitations/${enc(token)}/accept`);
    if (opts.json) return printJson(r);
    console.log(`joined team ${r.team.handle} as ${r.team.role}; work in it with: cpub team switch ${r.team.handle}`);
  });

  examples(withServerJson(team.command('role <member> <role>').description('change a member’s role (owners); member: their email').option('--team <handle>', 'the team (default: the current one)')), [
    'cpub team role ann@example.com admin',
  ]).action(async (member: string, r: string, opts) => {
    const h = await current(opts, opts.team);
    const out = await ctx.api(opts).request<{ member: TeamMemberView }>('PATCH', `/api/teams/${enc(h)}/members/${enc(member)}`, { role: role(r) });
    if (opts.json) return printJson(out);
    console.log(`${out.member.email} is now ${out.member.role} in ${h}`);
  });

  examples(withServer(team.command('remove <member>').description('remove a member (owners)').option('--team <handle>', 'the team (default: the current one)')), ['cpub team remove ann@example.com']).action(async (member: string, opts) => {
    const h = await current(opts, opts.team);
    await ctx.api(opts).request('DELETE', `/api/teams/${enc(h)}/members/${enc(member)}`);
    console.log(`removed ${member} from ${h}`);
  });

  examples(withServer(team.command('leave <handle>').description('leave a team (its last owner cannot)')), ['cpub team leave payments']).action(async (handle: string, opts) => {
    const api = ctx.api(opts);
    const me = await api.request<{ email: string }>('GET', '/api/users/me');
    await api.request('DELETE', `/api/teams/${enc(handle)}/members/${enc(me.email)}`);
    if (api.team === handle) api.saveTeam(undefined);
    console.log(`left ${handle}`);
  });

  examples(withServer(team.command('delete <handle>').description('delete a team with no functions left (owners)')), ['cpub team delete payments']).action(async (handle: string, opts) => {
    const api = ctx.api(opts);
    await api.request('DELETE', `/api/teams/${enc(handle)}`);
    if (api.team === handle) api.saveTeam(undefined);
    console.log(`deleted team ${handle}`);
  });

  examples(withServerJson(team.command('usage [handle]').description('the team’s quotas and its use of each (calls and CPU over the last 24 hours)')), ['cpub team usage', 'cpub team usage payments']).action(async (handle: string | undefined, opts) => {
    const h = await current(opts, handle);
    const r = await ctx.api(opts).request<TeamUsageView>('GET', `/api/teams/${enc(h)}/usage`);
    if (opts.json) return printJson(r);
    printTable(
      r.quotas.map((q) => ({ ...q, limit: q.limit ?? '-', share: q.limit ? `${Math.round((100 * q.used) / q.limit)}%` : '' })),
      [
        ['name', 'QUOTA'],
        ['used', 'USED'],
        ['limit', 'LIMIT'],
        ['share', ''],
      ],
    );
  });

  examples(withServerJson(team.command('quota <handle> <setting...>').description('set a team’s quotas (server administrators): name=number, or name=none to lift one')), [
    'cpub team quota payments functions=20 memoryMb=4096 callsPerDay=1000000',
    'cpub team quota payments concurrentCalls=none',
  ]).action(async (handle: string, settings: string[], opts) => {
    const body: Record<string, number | null> = {};
    for (const s of settings) {
      const m = /^([A-Za-z]+)=(none|\d+)$/.exec(s);
      if (!m) throw new CliError('invalid quota', `${s}: write name=number or name=none`, 2);
      body[m[1]!] = m[2] === 'none' ? null : Number(m[2]);
    }
    const r = await ctx.api(opts).request<TeamUsageView>('PUT', `/api/teams/${enc(handle)}/quotas`, body);
    if (opts.json) return printJson(r);
    console.log(r.quotas.map((q) => `${q.name}: ${q.limit ?? 'none'}`).join(', '));
  });

  examples(
    withServerJson(
      program
        .command('audit')
        .description('the audit trail of a team (its admins and owners): who deployed, changed settings, env names, keys, members, … with before and after')
        .option('--team <handle>', 'the team (default: the current one)')
        .option('--all', 'the whole server’s trail, account events included (server administrators)')
        .option('--event <event>', 'only this event (deployed, env_set, member_role_changed, …)')
        .option('--actor <email>', 'only what this person did')
        .option('--target <kind:name>', 'only changes to this, e.g. function:api')
        .option('--since <time>', 'ISO time, e.g. 2026-12-01')
        .option('--limit <n>', 'entries', '50'),
    ),
    ['cpub audit', 'cpub audit --event deployed --target function:api', 'cpub audit --all --actor ann@example.com'],
  ).action(async (opts) => {
    const q = new URLSearchParams();
    for (const k of ['event', 'actor', 'target', 'since', 'limit'] as const) if (opts[k]) q.set(k, String(opts[k]));
    if (opts.all && opts.team) q.set('team', opts.team);
    const path = opts.all ? `/api/audit?${q}` : `/api/teams/${enc(await current(opts, opts.team))}/audit?${q}`;
    const r = await ctx.api(opts).request<{ entries: AuditEntryView[]; nextCursor: string | null }>('GET', path);
    if (opts.json) return printJson(r);
    const change = (e: AuditEntryView) => [e.before !== null ? `before ${JSON.stringify(e.before)}` : '', e.after !== null ? `after ${JSON.stringify(e.after)}` : ''].filter(Boolean).join(' ');
    printTable(
      r.entries.map((e) => ({ ...e, actor: e.actor ?? '-', team: e.team ?? '-', target: e.target ?? '-', change: change(e).slice(0, 120) })),
      [
        ['at', 'AT'],
        ['event', 'EVENT'],
        ['actor', 'ACTOR'],
        ...(opts.all ? ([['team', 'TEAM']] as [string, string][]) : []),
        ['target', 'TARGET'],
        ['change', 'CHANGE'],
      ],
    );
  });
}
