// Original file: proto/agent.proto


export interface RemoveRequest {
  'functionId'?: (string);
  /**
   * 0 removes every version.
   */
  'version'?: (number);
}

export interface RemoveRequest__Output {
  'functionId': (string);
  /**
   * 0 removes every version.
   */
  'version': (number);
}
