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
  /**
   * The file system of the container storage (Podman's graph root): size and bytes in use.
   */
  'diskBytes'?: (number | string | Long);
  'diskUsedBytes'?: (number | string | Long);
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
  /**
   * The file system of the container storage (Podman's graph root): size and bytes in use.
   */
  'diskBytes': (number);
  'diskUsedBytes': (number);
}
