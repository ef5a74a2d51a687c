// Original file: proto/agent.proto

import type { Long } from '@grpc/proto-loader';

export interface ResourceSample {
  'atMs'?: (number | string | Long);
  'functionId'?: (string);
  'version'?: (number);
  'containerId'?: (string);
  'cpuMs'?: (number | string | Long);
  'memoryBytes'?: (number | string | Long);
}

export interface ResourceSample__Output {
  'atMs': (number);
  'functionId': (string);
  'version': (number);
  'containerId': (string);
  'cpuMs': (number);
  'memoryBytes': (number);
}
