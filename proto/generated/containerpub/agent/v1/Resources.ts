// Original file: proto/agent.proto

import type { Long } from '@grpc/proto-loader';

export interface Resources {
  'cpuMs'?: (number | string | Long);
  'peakMemoryBytes'?: (number | string | Long);
}

export interface Resources__Output {
  'cpuMs': (number);
  'peakMemoryBytes': (number);
}
