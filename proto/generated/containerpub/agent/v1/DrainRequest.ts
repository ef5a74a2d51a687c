// Original file: proto/agent.proto


export interface DrainRequest {
  /**
   * Wait until in-flight calls have finished before answering.
   */
  'wait'?: (boolean);
}

export interface DrainRequest__Output {
  /**
   * Wait until in-flight calls have finished before answering.
   */
  'wait': (boolean);
}
