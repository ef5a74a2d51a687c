// Original file: proto/agent.proto

import type { Long } from '@grpc/proto-loader';

export interface LogLine {
  'atMs'?: (number | string | Long);
  /**
   * "stdout", "stderr", or "ctx" for ctx.log.
   */
  'stream'?: (string);
  'level'?: (string);
  'message'?: (string);
}

export interface LogLine__Output {
  'atMs': (number);
  /**
   * "stdout", "stderr", or "ctx" for ctx.log.
   */
  'stream': (string);
  'level': (string);
  'message': (string);
}
