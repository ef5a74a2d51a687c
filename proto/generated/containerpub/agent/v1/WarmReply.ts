// Original file: proto/agent.proto


export interface WarmReply {
  'epoch'?: (string);
  /**
   * Containers of the version on the node now (started, not dead).
   */
  'ready'?: (number);
  /**
   * Why fewer than asked are ready (no room, a start failed); empty when all are.
   */
  'shortfall'?: (string);
}

export interface WarmReply__Output {
  'epoch': (string);
  /**
   * Containers of the version on the node now (started, not dead).
   */
  'ready': (number);
  /**
   * Why fewer than asked are ready (no room, a start failed); empty when all are.
   */
  'shortfall': (string);
}
