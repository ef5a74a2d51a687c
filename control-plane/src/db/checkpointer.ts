// A worker thread that checkpoints the SQLite write-ahead log (copies committed pages into the database file
// and syncs it) on its own connection, so that work — and its fsync — never stalls the server's event loop.
// Passive checkpoints: they never block a writer, and a reader's snapshot only delays them. The main connection
// keeps a far higher automatic checkpoint threshold, as a fallback should this thread fall behind.
import { parentPort, workerData } from 'node:worker_threads';
import SQLite from 'better-sqlite3';

const { file, everyMs } = workerData as { file: string; everyMs: number };
const db = new SQLite(file);
db.pragma('busy_timeout = 1000');
db.pragma('wal_autocheckpoint = 0');
const timer = setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch {
    // busy (another checkpoint under way) or the file is going away: the next turn tries again
  }
}, everyMs);
parentPort!.on('message', (m: unknown) => {
  if (m !== 'stop') return;
  clearInterval(timer);
  db.close();
  parentPort!.close();
});
