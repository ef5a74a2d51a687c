// The services of the function features, as the HTTP app and the dashboard take them (wired in control-plane.ts).
import type { AlertsService } from '../alerts/alerts.service.js';
import type { EventEmitter } from 'node:events';
import type { FunctionsService } from '../functions/functions.service.js';
import type { DeploymentsService } from '../deployments/deployments.service.js';
import type { InvocationService } from '../invocations/invocation.service.js';
import type { ExecutionsService } from '../executions/executions.service.js';
import type { EnvService } from '../env/env.service.js';
import type { KeysService } from '../keys/keys.service.js';
import type { StatsService } from '../stats/stats.service.js';
import type { DeadLettersService } from '../async-calls/dead-letters.service.js';
import type { SchedulesService } from '../async-calls/schedules.service.js';
import type { DestinationSecrets } from '../async-calls/destination-secrets.js';
import type { AliasesService } from '../aliases/aliases.service.js';
import type { ScalingService } from '../scheduling/scaling.service.js';
import type { CanariesService } from '../canaries/canaries.service.js';
import type { TeamsService } from '../teams/teams.service.js';
import type { AuditService } from '../audit/audit.service.js';
import type { TokensService } from '../tokens/tokens.service.js';
import type { QuotaKeeper } from '../teams/quotas.js';

export interface Features {
  functions: FunctionsService;
  deployments: DeploymentsService;
  invocations: InvocationService;
  executions: ExecutionsService;
  env: EnvService;
  keys: KeysService;
  stats: StatsService;
  deadLetters: DeadLettersService;
  schedules: SchedulesService;
  destinationSecrets: DestinationSecrets;
  aliases: AliasesService;
  scaling: ScalingService;
  canaries: CanariesService;
  alerts: AlertsService;
  teams: TeamsService;
  audit: AuditService;
  tokens: TokensService;
  quotas: QuotaKeeper;
  /** Live function log lines from every agent, emitted by function id. */
  liveLogs: EventEmitter;
}
