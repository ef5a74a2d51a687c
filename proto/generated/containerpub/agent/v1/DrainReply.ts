// Original file: proto/agent.proto


export interface DrainReply {
  'epoch'?: (string);
  'inFlight'?: (number);
  'drained'?: (boolean);
}

export interface DrainReply__Output {
  'epoch': (string);
  'inFlight': (number);
  'drained': (boolean);
}
