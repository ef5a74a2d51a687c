// The functions end-to-end cases (functions-e2e.test.ts) on PostgreSQL: keys and signature replay, env and
// secrets, logs, stats, delete cascade, agent_lost rows — every query of theirs on the other dialect too.
process.env.CPUB_TEST_FUNCTIONS_DIALECT = 'postgres';
await import('./functions-e2e.test.js');
