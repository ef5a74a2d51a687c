// Original file: proto/agent.proto


export interface BuildResult {
  'image'?: (string);
  'imageId'?: (string);
  /**
   * True when the image already existed for this digest.
   */
  'cached'?: (boolean);
  'durationMs'?: (number);
}

export interface BuildResult__Output {
  'image': (string);
  'imageId': (string);
  /**
   * True when the image already existed for this digest.
   */
  'cached': (boolean);
  'durationMs': (number);
}
