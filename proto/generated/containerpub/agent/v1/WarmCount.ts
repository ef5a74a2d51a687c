// Original file: proto/agent.proto


export interface WarmCount {
  'functionId'?: (string);
  'version'?: (number);
  'idle'?: (number);
  'busy'?: (number);
}

export interface WarmCount__Output {
  'functionId': (string);
  'version': (number);
  'idle': (number);
  'busy': (number);
}
