#!/usr/bin/env node
// Entry point installed as `cpub-agent`: runs the compiled node agent.
import { main } from '../dist/node-agent/src/main.js';

main(process.argv).catch((err) => {
  console.error(`error: ${err?.message ?? err}`);
  process.exit(1);
});
