// Original file: proto/agent.proto

import type { Outcome as _containerpub_agent_v1_Outcome, Outcome__Output as _containerpub_agent_v1_Outcome__Output } from '../../../containerpub/agent/v1/Outcome.js';
import type { Header as _containerpub_agent_v1_Header, Header__Output as _containerpub_agent_v1_Header__Output } from '../../../containerpub/agent/v1/Header.js';
import type { LogLine as _containerpub_agent_v1_LogLine, LogLine__Output as _containerpub_agent_v1_LogLine__Output } from '../../../containerpub/agent/v1/LogLine.js';
import type { Timings as _containerpub_agent_v1_Timings, Timings__Output as _containerpub_agent_v1_Timings__Output } from '../../../containerpub/agent/v1/Timings.js';
import type { Resources as _containerpub_agent_v1_Resources, Resources__Output as _containerpub_agent_v1_Resources__Output } from '../../../containerpub/agent/v1/Resources.js';
import type { Problem as _containerpub_agent_v1_Problem, Problem__Output as _containerpub_agent_v1_Problem__Output } from '../../../containerpub/agent/v1/Problem.js';
import type { ReplyPart as _containerpub_agent_v1_ReplyPart, ReplyPart__Output as _containerpub_agent_v1_ReplyPart__Output } from '../../../containerpub/agent/v1/ReplyPart.js';

export interface InvokeReply {
  'epoch'?: (string);
  'outcome'?: (_containerpub_agent_v1_Outcome);
  'status'?: (number);
  'headers'?: (_containerpub_agent_v1_Header)[];
  'body'?: (Buffer | Uint8Array | string);
  'logs'?: (_containerpub_agent_v1_LogLine)[];
  'logsTruncated'?: (boolean);
  'timings'?: (_containerpub_agent_v1_Timings | null);
  'resources'?: (_containerpub_agent_v1_Resources | null);
  /**
   * Why the call did not end `ok`, for the execution record.
   */
  'error'?: (string);
  'invocationId'?: (string);
  /**
   * On InvokeStream only: the call could not be run at all (the error a unary Invoke would have returned).
   */
  'problem'?: (_containerpub_agent_v1_Problem | null);
  /**
   * On InvokeStream, an answer the function streams comes in parts: its HEAD (status, headers, in `body` the first
   * bytes when they came with them, and `timings` until the head: the wait, a cold start's phases, run_ms to the
   * head), CHUNKs of its body
   * (within the credit given), then its END (outcome, logs, timings, resources, error; no status or body).
   * A unary Invoke, and an answer made whole, is one WHOLE reply.
   */
  'part'?: (_containerpub_agent_v1_ReplyPart);
  /**
   * PART_CREDIT (InvokeStream): the control plane may send this many more bytes of the call's streamed request body.
   */
  'credit'?: (number);
}

export interface InvokeReply__Output {
  'epoch': (string);
  'outcome': (_containerpub_agent_v1_Outcome__Output);
  'status': (number);
  'headers': (_containerpub_agent_v1_Header__Output)[];
  'body': (Buffer);
  'logs': (_containerpub_agent_v1_LogLine__Output)[];
  'logsTruncated': (boolean);
  'timings': (_containerpub_agent_v1_Timings__Output | null);
  'resources': (_containerpub_agent_v1_Resources__Output | null);
  /**
   * Why the call did not end `ok`, for the execution record.
   */
  'error': (string);
  'invocationId': (string);
  /**
   * On InvokeStream only: the call could not be run at all (the error a unary Invoke would have returned).
   */
  'problem': (_containerpub_agent_v1_Problem__Output | null);
  /**
   * On InvokeStream, an answer the function streams comes in parts: its HEAD (status, headers, in `body` the first
   * bytes when they came with them, and `timings` until the head: the wait, a cold start's phases, run_ms to the
   * head), CHUNKs of its body
   * (within the credit given), then its END (outcome, logs, timings, resources, error; no status or body).
   * A unary Invoke, and an answer made whole, is one WHOLE reply.
   */
  'part': (_containerpub_agent_v1_ReplyPart__Output);
  /**
   * PART_CREDIT (InvokeStream): the control plane may send this many more bytes of the call's streamed request body.
   */
  'credit': (number);
}
