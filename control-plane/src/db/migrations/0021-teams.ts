// Teams (issue 21). A team is an account, as an organisation is on GitHub: its row in `users` (kind 'team', which
// can never sign in) holds its handle, so functions keep `owner_id` — now the owning team's id — and their URLs
// `/fn/<team-handle>/<name>` need no change. Every person is the owner of a personal team that is their own
// account (teams.id = users.id, personal = 1): today's functions are already in it, and the old URLs keep working.
// Members have one role per team; invitations are kept hashed and expire. The audit log gains the team, the
// target and a before/after of what changed (never a secret).
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('users').addColumn('kind', 'text', (c) => c.notNull().defaultTo('person')).execute();

  await db.schema
    .createTable('teams')
    .addColumn('id', 'text', (c) => c.primaryKey().references('users.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('personal', 'integer', (c) => c.notNull())
    // JSON of the quotas a server admin set (null: none).
    .addColumn('quotas', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await sql`INSERT INTO teams (id, name, personal, created_at) SELECT id, name, 1, created_at FROM users`.execute(db);

  await db.schema
    .createTable('team_members')
    .addColumn('team_id', 'text', (c) => c.notNull().references('teams.id').onDelete('cascade'))
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('team_members_pk', ['team_id', 'user_id'])
    .execute();
  await db.schema.createIndex('team_members_user').on('team_members').column('user_id').execute();
  await sql`INSERT INTO team_members (team_id, user_id, role, created_at) SELECT id, id, 'owner', created_at FROM users`.execute(db);

  await db.schema
    .createTable('team_invitations')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('team_id', 'text', (c) => c.notNull().references('teams.id').onDelete('cascade'))
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('role', 'text', (c) => c.notNull())
    // SHA-256 of the token: the token itself is shown once, to the one who invites.
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('invited_by', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('accepted_at', 'bigint')
    .addColumn('accepted_by', 'text')
    .execute();
  await db.schema.createIndex('team_invitations_team').on('team_invitations').columns(['team_id', 'created_at']).execute();

  // A viewer may invoke only a function that allows it.
  await db.schema.alterTable('functions').addColumn('viewer_invoke', 'integer', (c) => c.notNull().defaultTo(0)).execute();

  await db.schema.alterTable('audit_log').addColumn('team_id', 'text').execute();
  await db.schema.alterTable('audit_log').addColumn('target', 'text').execute();
  await db.schema.alterTable('audit_log').addColumn('before', 'text').execute();
  await db.schema.alterTable('audit_log').addColumn('after', 'text').execute();
  await db.schema.createIndex('audit_log_team_at').on('audit_log').columns(['team_id', 'at']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('audit_log_team_at').execute();
  for (const c of ['after', 'before', 'target', 'team_id']) await db.schema.alterTable('audit_log').dropColumn(c).execute();
  await db.schema.alterTable('functions').dropColumn('viewer_invoke').execute();
  await db.schema.dropTable('team_invitations').execute();
  await db.schema.dropTable('team_members').execute();
  await db.schema.dropTable('teams').execute();
  await sql`DELETE FROM users WHERE kind = 'team'`.execute(db);
  await db.schema.alterTable('users').dropColumn('kind').execute();
}
