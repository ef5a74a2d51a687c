// Original file: proto/agent.proto

import type { Heartbeat as _containerpub_agent_v1_Heartbeat, Heartbeat__Output as _containerpub_agent_v1_Heartbeat__Output } from '../../../containerpub/agent/v1/Heartbeat.js';
import type { ResourceSample as _containerpub_agent_v1_ResourceSample, ResourceSample__Output as _containerpub_agent_v1_ResourceSample__Output } from '../../../containerpub/agent/v1/ResourceSample.js';
import type { FunctionLog as _containerpub_agent_v1_FunctionLog, FunctionLog__Output as _containerpub_agent_v1_FunctionLog__Output } from '../../../containerpub/agent/v1/FunctionLog.js';
import type { ContainerExit as _containerpub_agent_v1_ContainerExit, ContainerExit__Output as _containerpub_agent_v1_ContainerExit__Output } from '../../../containerpub/agent/v1/ContainerExit.js';

export interface WatchEvent {
  'epoch'?: (string);
  'heartbeat'?: (_containerpub_agent_v1_Heartbeat | null);
  'sample'?: (_containerpub_agent_v1_ResourceSample | null);
  'log'?: (_containerpub_agent_v1_FunctionLog | null);
  'exit'?: (_containerpub_agent_v1_ContainerExit | null);
  'event'?: "heartbeat"|"sample"|"log"|"exit";
}

export interface WatchEvent__Output {
  'epoch': (string);
  'heartbeat'?: (_containerpub_agent_v1_Heartbeat__Output | null);
  'sample'?: (_containerpub_agent_v1_ResourceSample__Output | null);
  'log'?: (_containerpub_agent_v1_FunctionLog__Output | null);
  'exit'?: (_containerpub_agent_v1_ContainerExit__Output | null);
  'event'?: "heartbeat"|"sample"|"log"|"exit";
}
