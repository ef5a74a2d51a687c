// Original file: proto/agent.proto


export interface Timings {
  'queuedMs'?: (number);
  'coldStart'?: (boolean);
  'createMs'?: (number);
  'startMs'?: (number);
  'readyMs'?: (number);
  'runMs'?: (number);
}

export interface Timings__Output {
  'queuedMs': (number);
  'coldStart': (boolean);
  'createMs': (number);
  'startMs': (number);
  'readyMs': (number);
  'runMs': (number);
}
