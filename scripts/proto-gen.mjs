// `npm run proto`: regenerates proto/generated/ (TypeScript types) from proto/agent.proto with the same
// loader options proto/loader.ts uses at run time. `--out DIR` writes elsewhere (the freshness test uses it).
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { root } from './lib/ensure.mjs';

const i = process.argv.indexOf('--out');
const out = i > 0 ? process.argv[i + 1] : join(root, 'proto', 'generated');
rmSync(out, { recursive: true, force: true });
const r = spawnSync(
  process.execPath,
  [
    join(root, 'node_modules', '@grpc', 'proto-loader', 'build', 'bin', 'proto-loader-gen-types.js'),
    'agent.proto', // first: --includeDirs would swallow it
    '--longs=Number', '--enums=String', '--defaults', '--oneofs', '--includeComments',
    '--grpcLib=@grpc/grpc-js', '--importFileExtension=.js', `--outDir=${out}`, '--includeDirs=proto', // relative (cwd is the root), so the generated comments name no absolute path
  ],
  { stdio: 'inherit', cwd: root },
);
process.exit(r.status ?? 1);
