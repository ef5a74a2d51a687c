// Original file: proto/agent.proto


export interface Problem {
  'kind'?: (string);
  'code'?: (string);
  'detail'?: (string);
}

export interface Problem__Output {
  'kind': (string);
  'code': (string);
  'detail': (string);
}
