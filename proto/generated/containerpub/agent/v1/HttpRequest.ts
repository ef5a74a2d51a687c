// Original file: proto/agent.proto

import type { Header as _containerpub_agent_v1_Header, Header__Output as _containerpub_agent_v1_Header__Output } from '../../../containerpub/agent/v1/Header.js';

export interface HttpRequest {
  'method'?: (string);
  'path'?: (string);
  'query'?: (string);
  'headers'?: (_containerpub_agent_v1_Header)[];
  'body'?: (Buffer | Uint8Array | string);
}

export interface HttpRequest__Output {
  'method': (string);
  'path': (string);
  'query': (string);
  'headers': (_containerpub_agent_v1_Header__Output)[];
  'body': (Buffer);
}
