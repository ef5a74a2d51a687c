// Original file: proto/agent.proto

import type { Long } from '@grpc/proto-loader';

export interface BuildLog {
  'atMs'?: (number | string | Long);
  'line'?: (string);
}

export interface BuildLog__Output {
  'atMs': (number);
  'line': (string);
}
