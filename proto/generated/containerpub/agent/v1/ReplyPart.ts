// Original file: proto/agent.proto

export const ReplyPart = {
  PART_WHOLE: 'PART_WHOLE',
  PART_HEAD: 'PART_HEAD',
  PART_CHUNK: 'PART_CHUNK',
  PART_END: 'PART_END',
  PART_CREDIT: 'PART_CREDIT',
} as const;

export type ReplyPart =
  | 'PART_WHOLE'
  | 0
  | 'PART_HEAD'
  | 1
  | 'PART_CHUNK'
  | 2
  | 'PART_END'
  | 3
  | 'PART_CREDIT'
  | 4

export type ReplyPart__Output = typeof ReplyPart[keyof typeof ReplyPart]
