// `npm run build` (and `prepare`, so `npm install` leaves a runnable build): compile TypeScript into dist/.
import { ensureBuild } from './lib/ensure.mjs';

ensureBuild({ force: true });
