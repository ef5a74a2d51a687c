// Original file: proto/agent.proto

import type { InvokeReply as _containerpub_agent_v1_InvokeReply, InvokeReply__Output as _containerpub_agent_v1_InvokeReply__Output } from '../../../containerpub/agent/v1/InvokeReply.js';

/**
 * InvokeStream's replies, several to a message (rpc Calls), in the order they were written.
 */
export interface ReplyBatch {
  'replies'?: (_containerpub_agent_v1_InvokeReply)[];
}

/**
 * InvokeStream's replies, several to a message (rpc Calls), in the order they were written.
 */
export interface ReplyBatch__Output {
  'replies': (_containerpub_agent_v1_InvokeReply__Output)[];
}
