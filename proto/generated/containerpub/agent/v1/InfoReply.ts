// Original file: proto/agent.proto

import type { Capacity as _containerpub_agent_v1_Capacity, Capacity__Output as _containerpub_agent_v1_Capacity__Output } from '../../../containerpub/agent/v1/Capacity.js';
import type { Usage as _containerpub_agent_v1_Usage, Usage__Output as _containerpub_agent_v1_Usage__Output } from '../../../containerpub/agent/v1/Usage.js';
import type { RuntimeInfo as _containerpub_agent_v1_RuntimeInfo, RuntimeInfo__Output as _containerpub_agent_v1_RuntimeInfo__Output } from '../../../containerpub/agent/v1/RuntimeInfo.js';

export interface InfoReply {
  'epoch'?: (string);
  'nodeId'?: (string);
  'agentVersion'?: (string);
  'podmanVersion'?: (string);
  'ociRuntime'?: (string);
  'cgroupVersion'?: (string);
  'capacity'?: (_containerpub_agent_v1_Capacity | null);
  'usage'?: (_containerpub_agent_v1_Usage | null);
  'limitsEnforced'?: (boolean);
  /**
   * Why limits are not enforced, when they are not (e.g. "rootless on cgroup v1").
   */
  'limitNotes'?: (string)[];
  'rootless'?: (boolean);
  'runtimeImage'?: (string);
  'runtimeImagePresent'?: (boolean);
  'draining'?: (boolean);
  /**
   * The runtimes this node can build functions on: "node" always, "python" when the host has Python 3, and the
   * operator's (`cpub-agent start --runtime name=image`) whose image is here. Placement sends a function only to
   * nodes that list its runtime.
   */
  'runtimes'?: (_containerpub_agent_v1_RuntimeInfo)[];
  /**
   * The agent serves `Calls` (InvokeStream's messages in batches).
   */
  'callBatches'?: (boolean);
}

export interface InfoReply__Output {
  'epoch': (string);
  'nodeId': (string);
  'agentVersion': (string);
  'podmanVersion': (string);
  'ociRuntime': (string);
  'cgroupVersion': (string);
  'capacity': (_containerpub_agent_v1_Capacity__Output | null);
  'usage': (_containerpub_agent_v1_Usage__Output | null);
  'limitsEnforced': (boolean);
  /**
   * Why limits are not enforced, when they are not (e.g. "rootless on cgroup v1").
   */
  'limitNotes': (string)[];
  'rootless': (boolean);
  'runtimeImage': (string);
  'runtimeImagePresent': (boolean);
  'draining': (boolean);
  /**
   * The runtimes this node can build functions on: "node" always, "python" when the host has Python 3, and the
   * operator's (`cpub-agent start --runtime name=image`) whose image is here. Placement sends a function only to
   * nodes that list its runtime.
   */
  'runtimes': (_containerpub_agent_v1_RuntimeInfo__Output)[];
  /**
   * The agent serves `Calls` (InvokeStream's messages in batches).
   */
  'callBatches': (boolean);
}
