#!/usr/bin/env node
// Entry point installed as `cpub-server`: runs the compiled control plane.
import { main } from '../dist/control-plane/src/main.js';

main(process.argv).catch((err) => {
  console.error(`error: ${err?.message ?? err}`);
  process.exit(1);
});
