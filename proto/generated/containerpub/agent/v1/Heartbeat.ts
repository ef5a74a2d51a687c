// Original file: proto/agent.proto

import type { Usage as _containerpub_agent_v1_Usage, Usage__Output as _containerpub_agent_v1_Usage__Output } from '../../../containerpub/agent/v1/Usage.js';
import type { WarmCount as _containerpub_agent_v1_WarmCount, WarmCount__Output as _containerpub_agent_v1_WarmCount__Output } from '../../../containerpub/agent/v1/WarmCount.js';
import type { Long } from '@grpc/proto-loader';

export interface Heartbeat {
  'atMs'?: (number | string | Long);
  'usage'?: (_containerpub_agent_v1_Usage | null);
  'warm'?: (_containerpub_agent_v1_WarmCount)[];
  'draining'?: (boolean);
}

export interface Heartbeat__Output {
  'atMs': (number);
  'usage': (_containerpub_agent_v1_Usage__Output | null);
  'warm': (_containerpub_agent_v1_WarmCount__Output)[];
  'draining': (boolean);
}
