// Original file: proto/agent.proto


export interface WatchRequest {
  'heartbeatMs'?: (number);
}

export interface WatchRequest__Output {
  'heartbeatMs': (number);
}
