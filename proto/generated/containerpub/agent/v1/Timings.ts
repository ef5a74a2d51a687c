// Original file: proto/agent.proto


export interface Timings {
  'queuedMs'?: (number);
  'coldStart'?: (boolean);
  'createMs'?: (number);
  'startMs'?: (number);
  'readyMs'?: (number);
  'runMs'?: (number);
  /**
   * The cold start loaded the function into a prewarmed stem container (create and start were done before).
   */
  'prewarmed'?: (boolean);
}

export interface Timings__Output {
  'queuedMs': (number);
  'coldStart': (boolean);
  'createMs': (number);
  'startMs': (number);
  'readyMs': (number);
  'runMs': (number);
  /**
   * The cold start loaded the function into a prewarmed stem container (create and start were done before).
   */
  'prewarmed': (boolean);
}
