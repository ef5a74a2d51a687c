// Original file: proto/agent.proto

import type { Long } from '@grpc/proto-loader';

export interface Usage {
  'memoryBytes'?: (number | string | Long);
  'containers'?: (number);
  'inFlight'?: (number);
  'cpuPercent'?: (number | string);
  /**
   * Memory limits of every container on the node (warm, starting, prewarmed stems): what placement packs by.
   */
  'memoryReservedBytes'?: (number | string | Long);
}

export interface Usage__Output {
  'memoryBytes': (number);
  'containers': (number);
  'inFlight': (number);
  'cpuPercent': (number);
  /**
   * Memory limits of every container on the node (warm, starting, prewarmed stems): what placement packs by.
   */
  'memoryReservedBytes': (number);
}
