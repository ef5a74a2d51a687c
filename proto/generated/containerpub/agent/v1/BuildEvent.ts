// Original file: proto/agent.proto

import type { BuildLog as _containerpub_agent_v1_BuildLog, BuildLog__Output as _containerpub_agent_v1_BuildLog__Output } from '../../../containerpub/agent/v1/BuildLog.js';
import type { BuildResult as _containerpub_agent_v1_BuildResult, BuildResult__Output as _containerpub_agent_v1_BuildResult__Output } from '../../../containerpub/agent/v1/BuildResult.js';

export interface BuildEvent {
  'epoch'?: (string);
  'log'?: (_containerpub_agent_v1_BuildLog | null);
  'result'?: (_containerpub_agent_v1_BuildResult | null);
  'event'?: "log"|"result";
}

export interface BuildEvent__Output {
  'epoch': (string);
  'log'?: (_containerpub_agent_v1_BuildLog__Output | null);
  'result'?: (_containerpub_agent_v1_BuildResult__Output | null);
  'event'?: "log"|"result";
}
