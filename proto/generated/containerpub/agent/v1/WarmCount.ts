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
  /**
   * How long its idle containers stay (after the prewarm, or the last call), and when one is started again after a
   * call (0: none); learned from its calls, or the fixed idle timeout.
   */
  'keepAliveMs'?: (number);
  'prewarmMs'?: (number);
  'learned'?: (boolean);
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
  /**
   * How long its idle containers stay (after the prewarm, or the last call), and when one is started again after a
   * call (0: none); learned from its calls, or the fixed idle timeout.
   */
  'keepAliveMs': (number);
  'prewarmMs': (number);
  'learned': (boolean);
}
