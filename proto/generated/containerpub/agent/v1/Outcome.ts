// Original file: proto/agent.proto

export const Outcome = {
  OUTCOME_UNSPECIFIED: 'OUTCOME_UNSPECIFIED',
  OUTCOME_OK: 'OUTCOME_OK',
  OUTCOME_ERROR: 'OUTCOME_ERROR',
  OUTCOME_TIMEOUT: 'OUTCOME_TIMEOUT',
  OUTCOME_OOM: 'OUTCOME_OOM',
  OUTCOME_CRASHED: 'OUTCOME_CRASHED',
  OUTCOME_REJECTED: 'OUTCOME_REJECTED',
} as const;

export type Outcome =
  | 'OUTCOME_UNSPECIFIED'
  | 0
  | 'OUTCOME_OK'
  | 1
  | 'OUTCOME_ERROR'
  | 2
  | 'OUTCOME_TIMEOUT'
  | 3
  | 'OUTCOME_OOM'
  | 4
  | 'OUTCOME_CRASHED'
  | 5
  | 'OUTCOME_REJECTED'
  | 6

export type Outcome__Output = typeof Outcome[keyof typeof Outcome]
