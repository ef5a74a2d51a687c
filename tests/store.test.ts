// The store suite: every repository's cases (tests/store/*.ts) on SQLite and on a real PostgreSQL, one suite per
// dialect on a fresh database (Fn's datastoretest pattern).
import { storeSuite } from './helpers/store.js';
import { authCases } from './store/auth.js';
import { maintenanceCases } from './store/maintenance.js';
import { functionsCases } from './store/functions.js';
import { deploymentsCases } from './store/deployments.js';
import { artifactsCases } from './store/artifacts.js';
import { executionsCases } from './store/executions.js';
import { statsCases } from './store/stats.js';
import { keysCases } from './store/keys.js';
import { envCases } from './store/env.js';
import { fleetCases } from './store/fleet.js';
import { asyncCallsCases } from './store/async-calls.js';
import { idempotencyCases } from './store/idempotency.js';
import { schedulesCases } from './store/schedules.js';
import { aliasesCases } from './store/aliases.js';
import { canariesCases } from './store/canaries.js';
import { alertsCases } from './store/alerts.js';

const modules = [authCases, maintenanceCases, functionsCases, deploymentsCases, artifactsCases, executionsCases, statsCases, keysCases, envCases, fleetCases, asyncCallsCases, idempotencyCases, schedulesCases, aliasesCases, canariesCases, alertsCases];

storeSuite('sqlite', modules).run();
storeSuite('postgres', modules).run();
