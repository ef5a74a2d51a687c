// The async fault cases (async-faults.test.ts) on PostgreSQL.
process.env.CPUB_TEST_FAULTS_DIALECT = 'postgres';
await import('./async-faults.test.js');
