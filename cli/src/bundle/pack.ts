// The function folder as the artifact the platform takes (common/pack.ts), with the CLI's checks around it.
import { packFunction, PackError, type Packed } from '../../../common/pack.js';
import { DEFAULT_ARTIFACT_LIMITS } from '../../../common/artifact.js';
import { CliError, formatBytes } from '../output.js';

/**
 * Bundles and packs the folder: the entry must exist and default-export a handler, dependencies must bundle
 * (a native addon is named), and the pack must be under the server's default upload cap (a server with a
 * different CPUB_ARTIFACT_MAX_BYTES says so itself with a 413).
 */
export async function pack(dir: string): Promise<Packed> {
  let packed: Packed;
  try {
    packed = await packFunction(dir);
  } catch (err) {
    if (err instanceof PackError) throw new CliError('cannot bundle the function', err.message);
    throw err;
  }
  const max = DEFAULT_ARTIFACT_LIMITS.maxCompressedBytes;
  if (packed.bytes.length > max) throw new CliError('bundle too large', `${formatBytes(packed.bytes.length)} packed is over the ${formatBytes(max)} upload limit`);
  return packed;
}
