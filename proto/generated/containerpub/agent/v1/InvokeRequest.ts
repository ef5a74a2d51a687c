// Original file: proto/agent.proto

import type { Limits as _containerpub_agent_v1_Limits, Limits__Output as _containerpub_agent_v1_Limits__Output } from '../../../containerpub/agent/v1/Limits.js';
import type { EnvVar as _containerpub_agent_v1_EnvVar, EnvVar__Output as _containerpub_agent_v1_EnvVar__Output } from '../../../containerpub/agent/v1/EnvVar.js';
import type { HttpRequest as _containerpub_agent_v1_HttpRequest, HttpRequest__Output as _containerpub_agent_v1_HttpRequest__Output } from '../../../containerpub/agent/v1/HttpRequest.js';
import type { Long } from '@grpc/proto-loader';

export interface InvokeRequest {
  'invocationId'?: (string);
  'functionId'?: (string);
  'functionName'?: (string);
  'version'?: (number);
  'image'?: (string);
  'digest'?: (string);
  'limits'?: (_containerpub_agent_v1_Limits | null);
  'env'?: (_containerpub_agent_v1_EnvVar)[];
  /**
   * Absolute deadline, epoch milliseconds.
   */
  'deadlineMs'?: (number | string | Long);
  'request'?: (_containerpub_agent_v1_HttpRequest | null);
  /**
   * When set and the node has no room for one more container of this function, decline (outcome REJECTED,
   * the function not run) after waiting this long for room instead of until the deadline: the control
   * plane then tries another node. 0 = wait for room until the deadline.
   */
  'declineAfterMs'?: (number);
  /**
   * The W3C traceparent of the control plane's dispatch span (tracing on): the agent's spans join its trace, and
   * the function's request carries it on. Empty: no trace.
   */
  'traceparent'?: (string);
  /**
   * On InvokeStream, a message about a call already sent (nothing else set but invocation_id): `credit` lets the
   * agent send that many more bytes of its streamed answer (each side starts with a window of STREAM_WINDOW, 1 MiB,
   * and the control plane gives bytes back as it writes them to the caller); `cancel`: the caller went away.
   */
  'credit'?: (number);
  'cancel'?: (boolean);
  /**
   * A request body that streams in (a large one): the call's message carries its first bytes in `request.body` and
   * `body_follows`; then messages with only invocation_id and `body_chunk` (at most what the agent's credit allows:
   * STREAM_WINDOW, then the `credit` of its PART_CREDIT replies), ended by one with `body_end` — and `body_error` when
   * the caller's body failed (the caller went away, or it passed the function's limit): the function's read fails.
   */
  'bodyFollows'?: (boolean);
  'bodyChunk'?: (Buffer | Uint8Array | string);
  'bodyEnd'?: (boolean);
  'bodyError'?: (string);
}

export interface InvokeRequest__Output {
  'invocationId': (string);
  'functionId': (string);
  'functionName': (string);
  'version': (number);
  'image': (string);
  'digest': (string);
  'limits': (_containerpub_agent_v1_Limits__Output | null);
  'env': (_containerpub_agent_v1_EnvVar__Output)[];
  /**
   * Absolute deadline, epoch milliseconds.
   */
  'deadlineMs': (number);
  'request': (_containerpub_agent_v1_HttpRequest__Output | null);
  /**
   * When set and the node has no room for one more container of this function, decline (outcome REJECTED,
   * the function not run) after waiting this long for room instead of until the deadline: the control
   * plane then tries another node. 0 = wait for room until the deadline.
   */
  'declineAfterMs': (number);
  /**
   * The W3C traceparent of the control plane's dispatch span (tracing on): the agent's spans join its trace, and
   * the function's request carries it on. Empty: no trace.
   */
  'traceparent': (string);
  /**
   * On InvokeStream, a message about a call already sent (nothing else set but invocation_id): `credit` lets the
   * agent send that many more bytes of its streamed answer (each side starts with a window of STREAM_WINDOW, 1 MiB,
   * and the control plane gives bytes back as it writes them to the caller); `cancel`: the caller went away.
   */
  'credit': (number);
  'cancel': (boolean);
  /**
   * A request body that streams in (a large one): the call's message carries its first bytes in `request.body` and
   * `body_follows`; then messages with only invocation_id and `body_chunk` (at most what the agent's credit allows:
   * STREAM_WINDOW, then the `credit` of its PART_CREDIT replies), ended by one with `body_end` — and `body_error` when
   * the caller's body failed (the caller went away, or it passed the function's limit): the function's read fails.
   */
  'bodyFollows': (boolean);
  'bodyChunk': (Buffer);
  'bodyEnd': (boolean);
  'bodyError': (string);
}
