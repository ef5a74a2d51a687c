// Original file: proto/agent.proto

import type { InvokeRequest as _containerpub_agent_v1_InvokeRequest, InvokeRequest__Output as _containerpub_agent_v1_InvokeRequest__Output } from '../../../containerpub/agent/v1/InvokeRequest.js';

/**
 * InvokeStream's requests, several to a message (rpc Calls), in the order they were written.
 */
export interface CallBatch {
  'calls'?: (_containerpub_agent_v1_InvokeRequest)[];
}

/**
 * InvokeStream's requests, several to a message (rpc Calls), in the order they were written.
 */
export interface CallBatch__Output {
  'calls': (_containerpub_agent_v1_InvokeRequest__Output)[];
}
