import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { AgentClient as _containerpub_agent_v1_AgentClient, AgentDefinition as _containerpub_agent_v1_AgentDefinition } from './containerpub/agent/v1/Agent.js';
import type { BuildEvent as _containerpub_agent_v1_BuildEvent, BuildEvent__Output as _containerpub_agent_v1_BuildEvent__Output } from './containerpub/agent/v1/BuildEvent.js';
import type { BuildHeader as _containerpub_agent_v1_BuildHeader, BuildHeader__Output as _containerpub_agent_v1_BuildHeader__Output } from './containerpub/agent/v1/BuildHeader.js';
import type { BuildLog as _containerpub_agent_v1_BuildLog, BuildLog__Output as _containerpub_agent_v1_BuildLog__Output } from './containerpub/agent/v1/BuildLog.js';
import type { BuildRequest as _containerpub_agent_v1_BuildRequest, BuildRequest__Output as _containerpub_agent_v1_BuildRequest__Output } from './containerpub/agent/v1/BuildRequest.js';
import type { BuildResult as _containerpub_agent_v1_BuildResult, BuildResult__Output as _containerpub_agent_v1_BuildResult__Output } from './containerpub/agent/v1/BuildResult.js';
import type { CallBatch as _containerpub_agent_v1_CallBatch, CallBatch__Output as _containerpub_agent_v1_CallBatch__Output } from './containerpub/agent/v1/CallBatch.js';
import type { Capacity as _containerpub_agent_v1_Capacity, Capacity__Output as _containerpub_agent_v1_Capacity__Output } from './containerpub/agent/v1/Capacity.js';
import type { ContainerExit as _containerpub_agent_v1_ContainerExit, ContainerExit__Output as _containerpub_agent_v1_ContainerExit__Output } from './containerpub/agent/v1/ContainerExit.js';
import type { DrainReply as _containerpub_agent_v1_DrainReply, DrainReply__Output as _containerpub_agent_v1_DrainReply__Output } from './containerpub/agent/v1/DrainReply.js';
import type { DrainRequest as _containerpub_agent_v1_DrainRequest, DrainRequest__Output as _containerpub_agent_v1_DrainRequest__Output } from './containerpub/agent/v1/DrainRequest.js';
import type { EnvVar as _containerpub_agent_v1_EnvVar, EnvVar__Output as _containerpub_agent_v1_EnvVar__Output } from './containerpub/agent/v1/EnvVar.js';
import type { FunctionLog as _containerpub_agent_v1_FunctionLog, FunctionLog__Output as _containerpub_agent_v1_FunctionLog__Output } from './containerpub/agent/v1/FunctionLog.js';
import type { Header as _containerpub_agent_v1_Header, Header__Output as _containerpub_agent_v1_Header__Output } from './containerpub/agent/v1/Header.js';
import type { Heartbeat as _containerpub_agent_v1_Heartbeat, Heartbeat__Output as _containerpub_agent_v1_Heartbeat__Output } from './containerpub/agent/v1/Heartbeat.js';
import type { HttpRequest as _containerpub_agent_v1_HttpRequest, HttpRequest__Output as _containerpub_agent_v1_HttpRequest__Output } from './containerpub/agent/v1/HttpRequest.js';
import type { InfoReply as _containerpub_agent_v1_InfoReply, InfoReply__Output as _containerpub_agent_v1_InfoReply__Output } from './containerpub/agent/v1/InfoReply.js';
import type { InfoRequest as _containerpub_agent_v1_InfoRequest, InfoRequest__Output as _containerpub_agent_v1_InfoRequest__Output } from './containerpub/agent/v1/InfoRequest.js';
import type { InvokeReply as _containerpub_agent_v1_InvokeReply, InvokeReply__Output as _containerpub_agent_v1_InvokeReply__Output } from './containerpub/agent/v1/InvokeReply.js';
import type { InvokeRequest as _containerpub_agent_v1_InvokeRequest, InvokeRequest__Output as _containerpub_agent_v1_InvokeRequest__Output } from './containerpub/agent/v1/InvokeRequest.js';
import type { Limits as _containerpub_agent_v1_Limits, Limits__Output as _containerpub_agent_v1_Limits__Output } from './containerpub/agent/v1/Limits.js';
import type { LogLine as _containerpub_agent_v1_LogLine, LogLine__Output as _containerpub_agent_v1_LogLine__Output } from './containerpub/agent/v1/LogLine.js';
import type { Problem as _containerpub_agent_v1_Problem, Problem__Output as _containerpub_agent_v1_Problem__Output } from './containerpub/agent/v1/Problem.js';
import type { RemoveReply as _containerpub_agent_v1_RemoveReply, RemoveReply__Output as _containerpub_agent_v1_RemoveReply__Output } from './containerpub/agent/v1/RemoveReply.js';
import type { RemoveRequest as _containerpub_agent_v1_RemoveRequest, RemoveRequest__Output as _containerpub_agent_v1_RemoveRequest__Output } from './containerpub/agent/v1/RemoveRequest.js';
import type { ReplyBatch as _containerpub_agent_v1_ReplyBatch, ReplyBatch__Output as _containerpub_agent_v1_ReplyBatch__Output } from './containerpub/agent/v1/ReplyBatch.js';
import type { ResourceSample as _containerpub_agent_v1_ResourceSample, ResourceSample__Output as _containerpub_agent_v1_ResourceSample__Output } from './containerpub/agent/v1/ResourceSample.js';
import type { Resources as _containerpub_agent_v1_Resources, Resources__Output as _containerpub_agent_v1_Resources__Output } from './containerpub/agent/v1/Resources.js';
import type { RuntimeInfo as _containerpub_agent_v1_RuntimeInfo, RuntimeInfo__Output as _containerpub_agent_v1_RuntimeInfo__Output } from './containerpub/agent/v1/RuntimeInfo.js';
import type { StartupCheck as _containerpub_agent_v1_StartupCheck, StartupCheck__Output as _containerpub_agent_v1_StartupCheck__Output } from './containerpub/agent/v1/StartupCheck.js';
import type { Timings as _containerpub_agent_v1_Timings, Timings__Output as _containerpub_agent_v1_Timings__Output } from './containerpub/agent/v1/Timings.js';
import type { UndrainRequest as _containerpub_agent_v1_UndrainRequest, UndrainRequest__Output as _containerpub_agent_v1_UndrainRequest__Output } from './containerpub/agent/v1/UndrainRequest.js';
import type { Usage as _containerpub_agent_v1_Usage, Usage__Output as _containerpub_agent_v1_Usage__Output } from './containerpub/agent/v1/Usage.js';
import type { WarmCount as _containerpub_agent_v1_WarmCount, WarmCount__Output as _containerpub_agent_v1_WarmCount__Output } from './containerpub/agent/v1/WarmCount.js';
import type { WarmReply as _containerpub_agent_v1_WarmReply, WarmReply__Output as _containerpub_agent_v1_WarmReply__Output } from './containerpub/agent/v1/WarmReply.js';
import type { WarmRequest as _containerpub_agent_v1_WarmRequest, WarmRequest__Output as _containerpub_agent_v1_WarmRequest__Output } from './containerpub/agent/v1/WarmRequest.js';
import type { WatchEvent as _containerpub_agent_v1_WatchEvent, WatchEvent__Output as _containerpub_agent_v1_WatchEvent__Output } from './containerpub/agent/v1/WatchEvent.js';
import type { WatchRequest as _containerpub_agent_v1_WatchRequest, WatchRequest__Output as _containerpub_agent_v1_WatchRequest__Output } from './containerpub/agent/v1/WatchRequest.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  containerpub: {
    agent: {
      v1: {
        Agent: SubtypeConstructor<typeof grpc.Client, _containerpub_agent_v1_AgentClient> & { service: _containerpub_agent_v1_AgentDefinition }
        BuildEvent: MessageTypeDefinition<_containerpub_agent_v1_BuildEvent, _containerpub_agent_v1_BuildEvent__Output>
        BuildHeader: MessageTypeDefinition<_containerpub_agent_v1_BuildHeader, _containerpub_agent_v1_BuildHeader__Output>
        BuildLog: MessageTypeDefinition<_containerpub_agent_v1_BuildLog, _containerpub_agent_v1_BuildLog__Output>
        BuildRequest: MessageTypeDefinition<_containerpub_agent_v1_BuildRequest, _containerpub_agent_v1_BuildRequest__Output>
        BuildResult: MessageTypeDefinition<_containerpub_agent_v1_BuildResult, _containerpub_agent_v1_BuildResult__Output>
        CallBatch: MessageTypeDefinition<_containerpub_agent_v1_CallBatch, _containerpub_agent_v1_CallBatch__Output>
        Capacity: MessageTypeDefinition<_containerpub_agent_v1_Capacity, _containerpub_agent_v1_Capacity__Output>
        ContainerExit: MessageTypeDefinition<_containerpub_agent_v1_ContainerExit, _containerpub_agent_v1_ContainerExit__Output>
        DrainReply: MessageTypeDefinition<_containerpub_agent_v1_DrainReply, _containerpub_agent_v1_DrainReply__Output>
        DrainRequest: MessageTypeDefinition<_containerpub_agent_v1_DrainRequest, _containerpub_agent_v1_DrainRequest__Output>
        EnvVar: MessageTypeDefinition<_containerpub_agent_v1_EnvVar, _containerpub_agent_v1_EnvVar__Output>
        FunctionLog: MessageTypeDefinition<_containerpub_agent_v1_FunctionLog, _containerpub_agent_v1_FunctionLog__Output>
        Header: MessageTypeDefinition<_containerpub_agent_v1_Header, _containerpub_agent_v1_Header__Output>
        Heartbeat: MessageTypeDefinition<_containerpub_agent_v1_Heartbeat, _containerpub_agent_v1_Heartbeat__Output>
        HttpRequest: MessageTypeDefinition<_containerpub_agent_v1_HttpRequest, _containerpub_agent_v1_HttpRequest__Output>
        InfoReply: MessageTypeDefinition<_containerpub_agent_v1_InfoReply, _containerpub_agent_v1_InfoReply__Output>
        InfoRequest: MessageTypeDefinition<_containerpub_agent_v1_InfoRequest, _containerpub_agent_v1_InfoRequest__Output>
        InvokeReply: MessageTypeDefinition<_containerpub_agent_v1_InvokeReply, _containerpub_agent_v1_InvokeReply__Output>
        InvokeRequest: MessageTypeDefinition<_containerpub_agent_v1_InvokeRequest, _containerpub_agent_v1_InvokeRequest__Output>
        Limits: MessageTypeDefinition<_containerpub_agent_v1_Limits, _containerpub_agent_v1_Limits__Output>
        LogLine: MessageTypeDefinition<_containerpub_agent_v1_LogLine, _containerpub_agent_v1_LogLine__Output>
        Outcome: EnumTypeDefinition
        Problem: MessageTypeDefinition<_containerpub_agent_v1_Problem, _containerpub_agent_v1_Problem__Output>
        RemoveReply: MessageTypeDefinition<_containerpub_agent_v1_RemoveReply, _containerpub_agent_v1_RemoveReply__Output>
        RemoveRequest: MessageTypeDefinition<_containerpub_agent_v1_RemoveRequest, _containerpub_agent_v1_RemoveRequest__Output>
        ReplyBatch: MessageTypeDefinition<_containerpub_agent_v1_ReplyBatch, _containerpub_agent_v1_ReplyBatch__Output>
        ReplyPart: EnumTypeDefinition
        ResourceSample: MessageTypeDefinition<_containerpub_agent_v1_ResourceSample, _containerpub_agent_v1_ResourceSample__Output>
        Resources: MessageTypeDefinition<_containerpub_agent_v1_Resources, _containerpub_agent_v1_Resources__Output>
        RuntimeInfo: MessageTypeDefinition<_containerpub_agent_v1_RuntimeInfo, _containerpub_agent_v1_RuntimeInfo__Output>
        StartupCheck: MessageTypeDefinition<_containerpub_agent_v1_StartupCheck, _containerpub_agent_v1_StartupCheck__Output>
        Timings: MessageTypeDefinition<_containerpub_agent_v1_Timings, _containerpub_agent_v1_Timings__Output>
        UndrainRequest: MessageTypeDefinition<_containerpub_agent_v1_UndrainRequest, _containerpub_agent_v1_UndrainRequest__Output>
        Usage: MessageTypeDefinition<_containerpub_agent_v1_Usage, _containerpub_agent_v1_Usage__Output>
        WarmCount: MessageTypeDefinition<_containerpub_agent_v1_WarmCount, _containerpub_agent_v1_WarmCount__Output>
        WarmReply: MessageTypeDefinition<_containerpub_agent_v1_WarmReply, _containerpub_agent_v1_WarmReply__Output>
        WarmRequest: MessageTypeDefinition<_containerpub_agent_v1_WarmRequest, _containerpub_agent_v1_WarmRequest__Output>
        WatchEvent: MessageTypeDefinition<_containerpub_agent_v1_WatchEvent, _containerpub_agent_v1_WatchEvent__Output>
        WatchRequest: MessageTypeDefinition<_containerpub_agent_v1_WatchRequest, _containerpub_agent_v1_WatchRequest__Output>
      }
    }
  }
}

