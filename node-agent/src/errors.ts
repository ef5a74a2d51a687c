// The agent's typed errors; proto/errors.ts carries their kind and code across the gRPC hop.
import type { RemoteErrorKind } from '../../proto/errors.js';

export class AgentError extends Error {
  constructor(
    readonly kind: RemoteErrorKind,
    readonly code: string,
    readonly detail: string,
  ) {
    super(detail);
    this.name = 'AgentError';
  }
}
