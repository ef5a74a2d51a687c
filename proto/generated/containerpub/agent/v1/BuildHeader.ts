// Original file: proto/agent.proto

import type { Long } from '@grpc/proto-loader';

export interface BuildHeader {
  'functionId'?: (string);
  'version'?: (number);
  /**
   * sha256 of the artifact, hex; the agent checks it after receiving the last chunk.
   */
  'digest'?: (string);
  'sizeBytes'?: (number | string | Long);
  'timeoutMs'?: (number);
}

export interface BuildHeader__Output {
  'functionId': (string);
  'version': (number);
  /**
   * sha256 of the artifact, hex; the agent checks it after receiving the last chunk.
   */
  'digest': (string);
  'sizeBytes': (number);
  'timeoutMs': (number);
}
