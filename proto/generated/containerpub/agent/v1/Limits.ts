// Original file: proto/agent.proto


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
}
