// Original file: proto/agent.proto

import type { Long } from '@grpc/proto-loader';

export interface Limits {
  'memoryMb'?: (number);
  'cpus'?: (number | string);
  'timeoutMs'?: (number);
  'concurrency'?: (number);
  'maxInstances'?: (number);
  /**
   * Egress network; false means --network none.
   */
  'network'?: (boolean);
  /**
   * A streamed answer's body at most (bytes); past it the stream is cut and the call fails. 0: 100 MiB.
   */
  'maxResponseBytes'?: (number | string | Long);
}

export interface Limits__Output {
  'memoryMb': (number);
  'cpus': (number);
  'timeoutMs': (number);
  'concurrency': (number);
  'maxInstances': (number);
  /**
   * Egress network; false means --network none.
   */
  'network': (boolean);
  /**
   * A streamed answer's body at most (bytes); past it the stream is cut and the call fails. 0: 100 MiB.
   */
  'maxResponseBytes': (number);
}
