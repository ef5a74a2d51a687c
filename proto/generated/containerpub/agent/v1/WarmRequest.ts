// Original file: proto/agent.proto

import type { Limits as _containerpub_agent_v1_Limits, Limits__Output as _containerpub_agent_v1_Limits__Output } from '../../../containerpub/agent/v1/Limits.js';
import type { EnvVar as _containerpub_agent_v1_EnvVar, EnvVar__Output as _containerpub_agent_v1_EnvVar__Output } from '../../../containerpub/agent/v1/EnvVar.js';

export interface WarmRequest {
  'functionId'?: (string);
  'functionName'?: (string);
  'version'?: (number);
  'image'?: (string);
  'limits'?: (_containerpub_agent_v1_Limits | null);
  'env'?: (_containerpub_agent_v1_EnvVar)[];
  'count'?: (number);
  /**
   * How long the floor holds without a renewal, ms.
   */
  'holdMs'?: (number);
}

export interface WarmRequest__Output {
  'functionId': (string);
  'functionName': (string);
  'version': (number);
  'image': (string);
  'limits': (_containerpub_agent_v1_Limits__Output | null);
  'env': (_containerpub_agent_v1_EnvVar__Output)[];
  'count': (number);
  /**
   * How long the floor holds without a renewal, ms.
   */
  'holdMs': (number);
}
