// Original file: proto/agent.proto


export interface WarmCount {
  'functionId'?: (string);
  'version'?: (number);
  'idle'?: (number);
  'busy'?: (number);
  /**
   * The warm floor this node holds for the version (Warm), 0: none.
   */
  'floor'?: (number);
}

export interface WarmCount__Output {
  'functionId': (string);
  'version': (number);
  'idle': (number);
  'busy': (number);
  /**
   * The warm floor this node holds for the version (Warm), 0: none.
   */
  'floor': (number);
}
