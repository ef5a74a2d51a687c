// Original file: proto/agent.proto

import type { Long } from '@grpc/proto-loader';

export interface Capacity {
  'memoryBytes'?: (number | string | Long);
  'cpus'?: (number | string);
  'maxContainers'?: (number);
}

export interface Capacity__Output {
  'memoryBytes': (number);
  'cpus': (number);
  'maxContainers': (number);
}
