// Original file: proto/agent.proto

import type { Long } from '@grpc/proto-loader';

export interface Usage {
  'memoryBytes'?: (number | string | Long);
  'containers'?: (number);
  'inFlight'?: (number);
  'cpuPercent'?: (number | string);
}

export interface Usage__Output {
  'memoryBytes': (number);
  'containers': (number);
  'inFlight': (number);
  'cpuPercent': (number);
}
