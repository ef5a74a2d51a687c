// Original file: proto/agent.proto


export interface RemoveReply {
  'epoch'?: (string);
  'containersRemoved'?: (number);
  'imagesRemoved'?: (number);
}

export interface RemoveReply__Output {
  'epoch': (string);
  'containersRemoved': (number);
  'imagesRemoved': (number);
}
