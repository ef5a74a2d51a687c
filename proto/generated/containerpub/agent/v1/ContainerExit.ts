// Original file: proto/agent.proto

import type { Long } from '@grpc/proto-loader';

export interface ContainerExit {
  'atMs'?: (number | string | Long);
  'functionId'?: (string);
  'version'?: (number);
  'containerId'?: (string);
  'exitCode'?: (number);
  'oomKilled'?: (boolean);
}

export interface ContainerExit__Output {
  'atMs': (number);
  'functionId': (string);
  'version': (number);
  'containerId': (string);
  'exitCode': (number);
  'oomKilled': (boolean);
}
