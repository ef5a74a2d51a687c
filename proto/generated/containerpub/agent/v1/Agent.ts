// Original file: proto/agent.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { BuildEvent as _containerpub_agent_v1_BuildEvent, BuildEvent__Output as _containerpub_agent_v1_BuildEvent__Output } from '../../../containerpub/agent/v1/BuildEvent.js';
import type { BuildRequest as _containerpub_agent_v1_BuildRequest, BuildRequest__Output as _containerpub_agent_v1_BuildRequest__Output } from '../../../containerpub/agent/v1/BuildRequest.js';
import type { CallBatch as _containerpub_agent_v1_CallBatch, CallBatch__Output as _containerpub_agent_v1_CallBatch__Output } from '../../../containerpub/agent/v1/CallBatch.js';
import type { DrainReply as _containerpub_agent_v1_DrainReply, DrainReply__Output as _containerpub_agent_v1_DrainReply__Output } from '../../../containerpub/agent/v1/DrainReply.js';
import type { DrainRequest as _containerpub_agent_v1_DrainRequest, DrainRequest__Output as _containerpub_agent_v1_DrainRequest__Output } from '../../../containerpub/agent/v1/DrainRequest.js';
import type { InfoReply as _containerpub_agent_v1_InfoReply, InfoReply__Output as _containerpub_agent_v1_InfoReply__Output } from '../../../containerpub/agent/v1/InfoReply.js';
import type { InfoRequest as _containerpub_agent_v1_InfoRequest, InfoRequest__Output as _containerpub_agent_v1_InfoRequest__Output } from '../../../containerpub/agent/v1/InfoRequest.js';
import type { InvokeReply as _containerpub_agent_v1_InvokeReply, InvokeReply__Output as _containerpub_agent_v1_InvokeReply__Output } from '../../../containerpub/agent/v1/InvokeReply.js';
import type { InvokeRequest as _containerpub_agent_v1_InvokeRequest, InvokeRequest__Output as _containerpub_agent_v1_InvokeRequest__Output } from '../../../containerpub/agent/v1/InvokeRequest.js';
import type { RemoveReply as _containerpub_agent_v1_RemoveReply, RemoveReply__Output as _containerpub_agent_v1_RemoveReply__Output } from '../../../containerpub/agent/v1/RemoveReply.js';
import type { RemoveRequest as _containerpub_agent_v1_RemoveRequest, RemoveRequest__Output as _containerpub_agent_v1_RemoveRequest__Output } from '../../../containerpub/agent/v1/RemoveRequest.js';
import type { ReplyBatch as _containerpub_agent_v1_ReplyBatch, ReplyBatch__Output as _containerpub_agent_v1_ReplyBatch__Output } from '../../../containerpub/agent/v1/ReplyBatch.js';
import type { UndrainRequest as _containerpub_agent_v1_UndrainRequest, UndrainRequest__Output as _containerpub_agent_v1_UndrainRequest__Output } from '../../../containerpub/agent/v1/UndrainRequest.js';
import type { WarmReply as _containerpub_agent_v1_WarmReply, WarmReply__Output as _containerpub_agent_v1_WarmReply__Output } from '../../../containerpub/agent/v1/WarmReply.js';
import type { WarmRequest as _containerpub_agent_v1_WarmRequest, WarmRequest__Output as _containerpub_agent_v1_WarmRequest__Output } from '../../../containerpub/agent/v1/WarmRequest.js';
import type { WatchEvent as _containerpub_agent_v1_WatchEvent, WatchEvent__Output as _containerpub_agent_v1_WatchEvent__Output } from '../../../containerpub/agent/v1/WatchEvent.js';
import type { WatchRequest as _containerpub_agent_v1_WatchRequest, WatchRequest__Output as _containerpub_agent_v1_WatchRequest__Output } from '../../../containerpub/agent/v1/WatchRequest.js';

export interface AgentClient extends grpc.Client {
  /**
   * Streams an artifact in (header first, then chunks); build log lines and the result come back.
   * Idempotent by digest: an image already built for that digest answers at once.
   */
  Build(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_containerpub_agent_v1_BuildRequest, _containerpub_agent_v1_BuildEvent__Output>;
  Build(options?: grpc.CallOptions): grpc.ClientDuplexStream<_containerpub_agent_v1_BuildRequest, _containerpub_agent_v1_BuildEvent__Output>;
  /**
   * Streams an artifact in (header first, then chunks); build log lines and the result come back.
   * Idempotent by digest: an image already built for that digest answers at once.
   */
  build(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_containerpub_agent_v1_BuildRequest, _containerpub_agent_v1_BuildEvent__Output>;
  build(options?: grpc.CallOptions): grpc.ClientDuplexStream<_containerpub_agent_v1_BuildRequest, _containerpub_agent_v1_BuildEvent__Output>;
  
  /**
   * InvokeStream's messages in batches: what either side sends in one turn of its event loop while other calls are in
   * flight goes at the turn's end as one message (a message of a call alone on the stream goes at once), so gRPC's
   * cost per message is shared by the calls of a busy moment. The control plane uses it with agents whose Info says
   * `call_batches`.
   */
  Calls(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_containerpub_agent_v1_CallBatch, _containerpub_agent_v1_ReplyBatch__Output>;
  Calls(options?: grpc.CallOptions): grpc.ClientDuplexStream<_containerpub_agent_v1_CallBatch, _containerpub_agent_v1_ReplyBatch__Output>;
  /**
   * InvokeStream's messages in batches: what either side sends in one turn of its event loop while other calls are in
   * flight goes at the turn's end as one message (a message of a call alone on the stream goes at once), so gRPC's
   * cost per message is shared by the calls of a busy moment. The control plane uses it with agents whose Info says
   * `call_batches`.
   */
  calls(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_containerpub_agent_v1_CallBatch, _containerpub_agent_v1_ReplyBatch__Output>;
  calls(options?: grpc.CallOptions): grpc.ClientDuplexStream<_containerpub_agent_v1_CallBatch, _containerpub_agent_v1_ReplyBatch__Output>;
  
  /**
   * Finishes in-flight calls and accepts no new ones.
   */
  Drain(argument: _containerpub_agent_v1_DrainRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_containerpub_agent_v1_DrainReply__Output>): grpc.ClientUnaryCall;
  Drain(argument: _containerpub_agent_v1_DrainRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_containerpub_agent_v1_DrainReply__Output>): grpc.ClientUnaryCall;
  Drain(argument: _containerpub_agent_v1_DrainRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_containerpub_agent_v1_DrainReply__Output>): grpc.ClientUnaryCall;
  Drain(argument: _containerpub_agent_v1_DrainRequest, callback: grpc.requestCallback<_containerpub_agent_v1_DrainReply__Output>): grpc.ClientUnaryCall;
  /**
   * Finishes in-flight calls and accepts no new ones.
   */
  drain(argument: _containerpub_agent_v1_DrainRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_containerpub_agent_v1_DrainReply__Output>): grpc.ClientUnaryCall;
  drain(argument: _containerpub_agent_v1_DrainRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_containerpub_agent_v1_DrainReply__Output>): grpc.ClientUnaryCall;
  drain(argument: _containerpub_agent_v1_DrainRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_containerpub_agent_v1_DrainReply__Output>): grpc.ClientUnaryCall;
  drain(argument: _containerpub_agent_v1_DrainRequest, callback: grpc.requestCallback<_containerpub_agent_v1_DrainReply__Output>): grpc.ClientUnaryCall;
  
  /**
   * Node identity, epoch, versions, capacity, and whether limits are really enforced.
   */
  Info(argument: _containerpub_agent_v1_InfoRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_containerpub_agent_v1_InfoReply__Output>): grpc.ClientUnaryCall;
  Info(argument: _containerpub_agent_v1_InfoRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_containerpub_agent_v1_InfoReply__Output>): grpc.ClientUnaryCall;
  Info(argument: _containerpub_agent_v1_InfoRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_containerpub_agent_v1_InfoReply__Output>): grpc.ClientUnaryCall;
  Info(argument: _containerpub_agent_v1_InfoRequest, callback: grpc.requestCallback<_containerpub_agent_v1_InfoReply__Output>): grpc.ClientUnaryCall;
  /**
   * Node identity, epoch, versions, capacity, and whether limits are really enforced.
   */
  info(argument: _containerpub_agent_v1_InfoRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_containerpub_agent_v1_InfoReply__Output>): grpc.ClientUnaryCall;
  info(argument: _containerpub_agent_v1_InfoRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_containerpub_agent_v1_InfoReply__Output>): grpc.ClientUnaryCall;
  info(argument: _containerpub_agent_v1_InfoRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_containerpub_agent_v1_InfoReply__Output>): grpc.ClientUnaryCall;
  info(argument: _containerpub_agent_v1_InfoRequest, callback: grpc.requestCallback<_containerpub_agent_v1_InfoReply__Output>): grpc.ClientUnaryCall;
  
  /**
   * Runs one call in a warm or a cold container.
   */
  Invoke(argument: _containerpub_agent_v1_InvokeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_containerpub_agent_v1_InvokeReply__Output>): grpc.ClientUnaryCall;
  Invoke(argument: _containerpub_agent_v1_InvokeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_containerpub_agent_v1_InvokeReply__Output>): grpc.ClientUnaryCall;
  Invoke(argument: _containerpub_agent_v1_InvokeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_containerpub_agent_v1_InvokeReply__Output>): grpc.ClientUnaryCall;
  Invoke(argument: _containerpub_agent_v1_InvokeRequest, callback: grpc.requestCallback<_containerpub_agent_v1_InvokeReply__Output>): grpc.ClientUnaryCall;
  /**
   * Runs one call in a warm or a cold container.
   */
  invoke(argument: _containerpub_agent_v1_InvokeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_containerpub_agent_v1_InvokeReply__Output>): grpc.ClientUnaryCall;
  invoke(argument: _containerpub_agent_v1_InvokeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_containerpub_agent_v1_InvokeReply__Output>): grpc.ClientUnaryCall;
  invoke(argument: _containerpub_agent_v1_InvokeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_containerpub_agent_v1_InvokeReply__Output>): grpc.ClientUnaryCall;
  invoke(argument: _containerpub_agent_v1_InvokeRequest, callback: grpc.requestCallback<_containerpub_agent_v1_InvokeReply__Output>): grpc.ClientUnaryCall;
  
  /**
   * The same calls as messages on one long-lived stream (a unary gRPC call costs ≈1 ms of latency here):
   * replies come back in any order, matched by invocation_id; a call that cannot start carries `problem`.
   */
  InvokeStream(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_containerpub_agent_v1_InvokeRequest, _containerpub_agent_v1_InvokeReply__Output>;
  InvokeStream(options?: grpc.CallOptions): grpc.ClientDuplexStream<_containerpub_agent_v1_InvokeRequest, _containerpub_agent_v1_InvokeReply__Output>;
  /**
   * The same calls as messages on one long-lived stream (a unary gRPC call costs ≈1 ms of latency here):
   * replies come back in any order, matched by invocation_id; a call that cannot start carries `problem`.
   */
  invokeStream(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_containerpub_agent_v1_InvokeRequest, _containerpub_agent_v1_InvokeReply__Output>;
  invokeStream(options?: grpc.CallOptions): grpc.ClientDuplexStream<_containerpub_agent_v1_InvokeRequest, _containerpub_agent_v1_InvokeReply__Output>;
  
  /**
   * Drops a function's (or one version's) containers and images.
   */
  Remove(argument: _containerpub_agent_v1_RemoveRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_containerpub_agent_v1_RemoveReply__Output>): grpc.ClientUnaryCall;
  Remove(argument: _containerpub_agent_v1_RemoveRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_containerpub_agent_v1_RemoveReply__Output>): grpc.ClientUnaryCall;
  Remove(argument: _containerpub_agent_v1_RemoveRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_containerpub_agent_v1_RemoveReply__Output>): grpc.ClientUnaryCall;
  Remove(argument: _containerpub_agent_v1_RemoveRequest, callback: grpc.requestCallback<_containerpub_agent_v1_RemoveReply__Output>): grpc.ClientUnaryCall;
  /**
   * Drops a function's (or one version's) containers and images.
   */
  remove(argument: _containerpub_agent_v1_RemoveRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_containerpub_agent_v1_RemoveReply__Output>): grpc.ClientUnaryCall;
  remove(argument: _containerpub_agent_v1_RemoveRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_containerpub_agent_v1_RemoveReply__Output>): grpc.ClientUnaryCall;
  remove(argument: _containerpub_agent_v1_RemoveRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_containerpub_agent_v1_RemoveReply__Output>): grpc.ClientUnaryCall;
  remove(argument: _containerpub_agent_v1_RemoveRequest, callback: grpc.requestCallback<_containerpub_agent_v1_RemoveReply__Output>): grpc.ClientUnaryCall;
  
  /**
   * Takes calls again after a Drain.
   */
  Undrain(argument: _containerpub_agent_v1_UndrainRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_containerpub_agent_v1_DrainReply__Output>): grpc.ClientUnaryCall;
  Undrain(argument: _containerpub_agent_v1_UndrainRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_containerpub_agent_v1_DrainReply__Output>): grpc.ClientUnaryCall;
  Undrain(argument: _containerpub_agent_v1_UndrainRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_containerpub_agent_v1_DrainReply__Output>): grpc.ClientUnaryCall;
  Undrain(argument: _containerpub_agent_v1_UndrainRequest, callback: grpc.requestCallback<_containerpub_agent_v1_DrainReply__Output>): grpc.ClientUnaryCall;
  /**
   * Takes calls again after a Drain.
   */
  undrain(argument: _containerpub_agent_v1_UndrainRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_containerpub_agent_v1_DrainReply__Output>): grpc.ClientUnaryCall;
  undrain(argument: _containerpub_agent_v1_UndrainRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_containerpub_agent_v1_DrainReply__Output>): grpc.ClientUnaryCall;
  undrain(argument: _containerpub_agent_v1_UndrainRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_containerpub_agent_v1_DrainReply__Output>): grpc.ClientUnaryCall;
  undrain(argument: _containerpub_agent_v1_UndrainRequest, callback: grpc.requestCallback<_containerpub_agent_v1_DrainReply__Output>): grpc.ClientUnaryCall;
  
  /**
   * The warm floor: keeps `count` containers of a version started here, idle or not, until `hold_ms` passes without
   * a renewal (the control plane renews it every few seconds; count 0 ends it). Answers once they are ready.
   */
  Warm(argument: _containerpub_agent_v1_WarmRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_containerpub_agent_v1_WarmReply__Output>): grpc.ClientUnaryCall;
  Warm(argument: _containerpub_agent_v1_WarmRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_containerpub_agent_v1_WarmReply__Output>): grpc.ClientUnaryCall;
  Warm(argument: _containerpub_agent_v1_WarmRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_containerpub_agent_v1_WarmReply__Output>): grpc.ClientUnaryCall;
  Warm(argument: _containerpub_agent_v1_WarmRequest, callback: grpc.requestCallback<_containerpub_agent_v1_WarmReply__Output>): grpc.ClientUnaryCall;
  /**
   * The warm floor: keeps `count` containers of a version started here, idle or not, until `hold_ms` passes without
   * a renewal (the control plane renews it every few seconds; count 0 ends it). Answers once they are ready.
   */
  warm(argument: _containerpub_agent_v1_WarmRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_containerpub_agent_v1_WarmReply__Output>): grpc.ClientUnaryCall;
  warm(argument: _containerpub_agent_v1_WarmRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_containerpub_agent_v1_WarmReply__Output>): grpc.ClientUnaryCall;
  warm(argument: _containerpub_agent_v1_WarmRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_containerpub_agent_v1_WarmReply__Output>): grpc.ClientUnaryCall;
  warm(argument: _containerpub_agent_v1_WarmRequest, callback: grpc.requestCallback<_containerpub_agent_v1_WarmReply__Output>): grpc.ClientUnaryCall;
  
  /**
   * Heartbeats, resource samples, live function log lines, container exits; one stream per control plane.
   */
  Watch(argument: _containerpub_agent_v1_WatchRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_containerpub_agent_v1_WatchEvent__Output>;
  Watch(argument: _containerpub_agent_v1_WatchRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_containerpub_agent_v1_WatchEvent__Output>;
  /**
   * Heartbeats, resource samples, live function log lines, container exits; one stream per control plane.
   */
  watch(argument: _containerpub_agent_v1_WatchRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_containerpub_agent_v1_WatchEvent__Output>;
  watch(argument: _containerpub_agent_v1_WatchRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_containerpub_agent_v1_WatchEvent__Output>;
  
}

export interface AgentHandlers extends grpc.UntypedServiceImplementation {
  /**
   * Streams an artifact in (header first, then chunks); build log lines and the result come back.
   * Idempotent by digest: an image already built for that digest answers at once.
   */
  Build: grpc.handleBidiStreamingCall<_containerpub_agent_v1_BuildRequest__Output, _containerpub_agent_v1_BuildEvent>;
  
  /**
   * InvokeStream's messages in batches: what either side sends in one turn of its event loop while other calls are in
   * flight goes at the turn's end as one message (a message of a call alone on the stream goes at once), so gRPC's
   * cost per message is shared by the calls of a busy moment. The control plane uses it with agents whose Info says
   * `call_batches`.
   */
  Calls: grpc.handleBidiStreamingCall<_containerpub_agent_v1_CallBatch__Output, _containerpub_agent_v1_ReplyBatch>;
  
  /**
   * Finishes in-flight calls and accepts no new ones.
   */
  Drain: grpc.handleUnaryCall<_containerpub_agent_v1_DrainRequest__Output, _containerpub_agent_v1_DrainReply>;
  
  /**
   * Node identity, epoch, versions, capacity, and whether limits are really enforced.
   */
  Info: grpc.handleUnaryCall<_containerpub_agent_v1_InfoRequest__Output, _containerpub_agent_v1_InfoReply>;
  
  /**
   * Runs one call in a warm or a cold container.
   */
  Invoke: grpc.handleUnaryCall<_containerpub_agent_v1_InvokeRequest__Output, _containerpub_agent_v1_InvokeReply>;
  
  /**
   * The same calls as messages on one long-lived stream (a unary gRPC call costs ≈1 ms of latency here):
   * replies come back in any order, matched by invocation_id; a call that cannot start carries `problem`.
   */
  InvokeStream: grpc.handleBidiStreamingCall<_containerpub_agent_v1_InvokeRequest__Output, _containerpub_agent_v1_InvokeReply>;
  
  /**
   * Drops a function's (or one version's) containers and images.
   */
  Remove: grpc.handleUnaryCall<_containerpub_agent_v1_RemoveRequest__Output, _containerpub_agent_v1_RemoveReply>;
  
  /**
   * Takes calls again after a Drain.
   */
  Undrain: grpc.handleUnaryCall<_containerpub_agent_v1_UndrainRequest__Output, _containerpub_agent_v1_DrainReply>;
  
  /**
   * The warm floor: keeps `count` containers of a version started here, idle or not, until `hold_ms` passes without
   * a renewal (the control plane renews it every few seconds; count 0 ends it). Answers once they are ready.
   */
  Warm: grpc.handleUnaryCall<_containerpub_agent_v1_WarmRequest__Output, _containerpub_agent_v1_WarmReply>;
  
  /**
   * Heartbeats, resource samples, live function log lines, container exits; one stream per control plane.
   */
  Watch: grpc.handleServerStreamingCall<_containerpub_agent_v1_WatchRequest__Output, _containerpub_agent_v1_WatchEvent>;
  
}

export interface AgentDefinition extends grpc.ServiceDefinition {
  Build: MethodDefinition<_containerpub_agent_v1_BuildRequest, _containerpub_agent_v1_BuildEvent, _containerpub_agent_v1_BuildRequest__Output, _containerpub_agent_v1_BuildEvent__Output>
  Calls: MethodDefinition<_containerpub_agent_v1_CallBatch, _containerpub_agent_v1_ReplyBatch, _containerpub_agent_v1_CallBatch__Output, _containerpub_agent_v1_ReplyBatch__Output>
  Drain: MethodDefinition<_containerpub_agent_v1_DrainRequest, _containerpub_agent_v1_DrainReply, _containerpub_agent_v1_DrainRequest__Output, _containerpub_agent_v1_DrainReply__Output>
  Info: MethodDefinition<_containerpub_agent_v1_InfoRequest, _containerpub_agent_v1_InfoReply, _containerpub_agent_v1_InfoRequest__Output, _containerpub_agent_v1_InfoReply__Output>
  Invoke: MethodDefinition<_containerpub_agent_v1_InvokeRequest, _containerpub_agent_v1_InvokeReply, _containerpub_agent_v1_InvokeRequest__Output, _containerpub_agent_v1_InvokeReply__Output>
  InvokeStream: MethodDefinition<_containerpub_agent_v1_InvokeRequest, _containerpub_agent_v1_InvokeReply, _containerpub_agent_v1_InvokeRequest__Output, _containerpub_agent_v1_InvokeReply__Output>
  Remove: MethodDefinition<_containerpub_agent_v1_RemoveRequest, _containerpub_agent_v1_RemoveReply, _containerpub_agent_v1_RemoveRequest__Output, _containerpub_agent_v1_RemoveReply__Output>
  Undrain: MethodDefinition<_containerpub_agent_v1_UndrainRequest, _containerpub_agent_v1_DrainReply, _containerpub_agent_v1_UndrainRequest__Output, _containerpub_agent_v1_DrainReply__Output>
  Warm: MethodDefinition<_containerpub_agent_v1_WarmRequest, _containerpub_agent_v1_WarmReply, _containerpub_agent_v1_WarmRequest__Output, _containerpub_agent_v1_WarmReply__Output>
  Watch: MethodDefinition<_containerpub_agent_v1_WatchRequest, _containerpub_agent_v1_WatchEvent, _containerpub_agent_v1_WatchRequest__Output, _containerpub_agent_v1_WatchEvent__Output>
}
