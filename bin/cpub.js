#!/usr/bin/env node
// Entry point installed as `cpub`: runs the compiled CLI.
import { main } from '../dist/cli/src/main.js';

main(process.argv).catch((err) => {
  console.error(`error: ${err?.message ?? err}`);
  process.exit(1);
});
