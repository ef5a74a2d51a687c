/** @jsxImportSource hono/jsx */
// The function page's versions: status, digest, build log, and rollback to a ready one.
import type { FC } from 'hono/jsx';
import type { DeploymentView } from '../../../../common/api-types.js';
import { ActionButton, Badge, Head, when } from '../ui.js';

export const VersionsSection: FC<{ csrf: string; base: string; deployments: DeploymentView[] }> = ({ csrf, base, deployments }) => (
  <>
    <h2>Versions</h2>
    <section class="card">
      <table id="versions">
        <Head cols={['Version', 'Status', 'Digest', 'Runtime', 'Deployed', '']} />
        <tbody>
          {deployments.map((v) => (
            <tr>
              <td class="num">
                v{v.version} {v.active && <span class="badge good">active</span>}
              </td>
              <td>
                <Badge status={v.status} />
              </td>
              <td class="mono">{v.digest.slice(0, 12)}</td>
              <td>{v.runtime}</td>
              <td>
                {when(v.createdAt)}
                <br />
                <a href={`${base}/versions/${v.version}/log`}>build log</a>
              </td>
              <td>
                {v.status === 'ready' && !v.active && (
                  <ActionButton action={`${base}/rollback`} csrf={csrf} kind="secondary" label={`Roll back to v${v.version}`} fields={{ version: String(v.version) }} />
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  </>
);
