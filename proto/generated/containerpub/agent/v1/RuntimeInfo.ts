// Original file: proto/agent.proto


export interface RuntimeInfo {
  'name'?: (string);
  /**
   * The image its functions are built FROM (empty for Python before its first use: it is assembled then).
   */
  'image'?: (string);
  /**
   * Its `containerpub.language` label: the conformance function the kit checks it with.
   */
  'language'?: (string);
}

export interface RuntimeInfo__Output {
  'name': (string);
  /**
   * The image its functions are built FROM (empty for Python before its first use: it is assembled then).
   */
  'image': (string);
  /**
   * Its `containerpub.language` label: the conformance function the kit checks it with.
   */
  'language': (string);
}
