// Original file: proto/agent.proto

import type { BuildHeader as _containerpub_agent_v1_BuildHeader, BuildHeader__Output as _containerpub_agent_v1_BuildHeader__Output } from '../../../containerpub/agent/v1/BuildHeader.js';

export interface BuildRequest {
  'header'?: (_containerpub_agent_v1_BuildHeader | null);
  'chunk'?: (Buffer | Uint8Array | string);
  'part'?: "header"|"chunk";
}

export interface BuildRequest__Output {
  'header'?: (_containerpub_agent_v1_BuildHeader__Output | null);
  'chunk'?: (Buffer);
  'part'?: "header"|"chunk";
}
