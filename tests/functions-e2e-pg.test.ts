// The functions end-to-end cases (functions-e2e.test.ts) on PostgreSQL: keys and signature replay, env and
// secrets, logs, stats, delete cascade, agent_lost rows — every query of theirs on the other dialect too.
// The cases of the agent alone (limits, stripped headers, OOM and crash codes, the queue, the examples) run on
// SQLite only: `agentSide` in functions-e2e.test.ts.
process.env.CPUB_TEST_FUNCTIONS_DIALECT = 'postgres';
await import('./functions-e2e.test.js');
