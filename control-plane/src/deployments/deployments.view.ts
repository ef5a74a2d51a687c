// The public shape of a function's version (deployment).
import { z } from '@hono/zod-openapi';
import type { DeploymentRow } from '../db/schema.js';
import type * as api from '../../../common/api-types.js';
import type { Same } from '../http/schemas.js';

export const DeploymentSchema = z
  .object({
    id: z.string().openapi({ description: '<function id>@<version>' }),
    version: z.number(),
    status: z.enum(['building', 'ready', 'failed']),
    digest: z.string(),
    sizeBytes: z.number(),
    runtime: z.string().openapi({ description: 'the runtime its containerpub.json names ("node" unless it names another)' }),
    active: z.boolean(),
    createdAt: z.string(),
    finishedAt: z.string().nullable(),
    durationMs: z.number().nullable(),
    error: z.string().nullable(),
  })
  .openapi('Deployment');

export type DeploymentView = api.DeploymentView;
true satisfies Same<z.infer<typeof DeploymentSchema>, api.DeploymentView>;

export function toDeploymentView(d: DeploymentRow, activeVersion: number | null): DeploymentView {
  const finished = d.finished_at === null ? null : Number(d.finished_at);
  return {
    id: `${d.function_id}@${d.version}`,
    version: d.version,
    status: d.status,
    digest: d.digest,
    sizeBytes: Number(d.size_bytes),
    runtime: d.runtime,
    active: d.version === activeVersion,
    createdAt: new Date(Number(d.created_at)).toISOString(),
    finishedAt: finished === null ? null : new Date(finished).toISOString(),
    durationMs: finished === null ? null : finished - Number(d.created_at),
    error: d.error,
  };
}
