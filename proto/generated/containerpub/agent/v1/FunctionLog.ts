// Original file: proto/agent.proto

import type { LogLine as _containerpub_agent_v1_LogLine, LogLine__Output as _containerpub_agent_v1_LogLine__Output } from '../../../containerpub/agent/v1/LogLine.js';

export interface FunctionLog {
  'functionId'?: (string);
  'version'?: (number);
  'invocationId'?: (string);
  'line'?: (_containerpub_agent_v1_LogLine | null);
}

export interface FunctionLog__Output {
  'functionId': (string);
  'version': (number);
  'invocationId': (string);
  'line': (_containerpub_agent_v1_LogLine__Output | null);
}
