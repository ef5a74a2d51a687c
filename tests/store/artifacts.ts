// Store cases for artifacts.repo: artifacts shared through the database, one row per digest, dropped only once no
// version uses them.
import * as assert from 'uvu/assert';
import { artifactsRepo } from '../../control-plane/src/artifacts/artifacts.repo.js';
import { deploymentsRepo } from '../../control-plane/src/deployments/deployments.repo.js';
import { functionsRepo } from '../../control-plane/src/functions/functions.repo.js';
import { deploymentRow, NOW, ownerWith, type StoreCases } from '../helpers/store.js';

const BYTES = Buffer.from([0x1f, 0x8b, 0x00, 0xff, 0xfe, 0x00, 0x0a, 0x0d, 0x5c, 0x27]);

export const artifactsCases: StoreCases = (s) => {
  s('artifacts: stored once per digest (the first copy kept), bytes intact', async ({ db }) => {
    await artifactsRepo.insert(db.kysely, 'art-1', BYTES, NOW);
    await artifactsRepo.insert(db.kysely, 'art-1', Buffer.from('another'), NOW + 1);
    const data = await artifactsRepo.data(db.kysely, 'art-1');
    assert.ok(Buffer.isBuffer(data));
    assert.ok(data.equals(BYTES), `read back ${data.toString('hex')}`);
    assert.is(await artifactsRepo.data(db.kysely, 'art-none'), undefined);
    const row = await db.kysely.selectFrom('artifact_blobs').select('created_at').where('digest', '=', 'art-1').execute();
    assert.equal(row, [{ created_at: NOW }]);
  });

  s('artifacts: deleteUnused keeps what a version still uses; unshared lists versions’ digests not stored', async ({ db }) => {
    await ownerWith(db, 'ao', 'fa-art');
    await deploymentsRepo.insertDeployment(db.kysely, deploymentRow('fa-art', 1, { digest: 'art-used' }));
    await deploymentsRepo.insertDeployment(db.kysely, deploymentRow('fa-art', 2, { digest: 'art-unshared' }));
    await deploymentsRepo.insertDeployment(db.kysely, deploymentRow('fa-art', 3, { digest: 'art-unshared' }));
    for (const d of ['art-used', 'art-free', 'art-kept']) await artifactsRepo.insert(db.kysely, d, BYTES, NOW);
    const mine = async () => (await artifactsRepo.unshared(db.kysely)).filter((d) => d.startsWith('art-'));
    const stored = async (...digests: string[]) => Promise.all(digests.map(async (d) => (await artifactsRepo.data(db.kysely, d)) !== undefined));

    assert.equal(await mine(), ['art-unshared'], 'once, though two versions use it');
    await artifactsRepo.deleteUnused(db.kysely, ['art-used', 'art-free', 'art-unshared']);
    assert.equal(await stored('art-used', 'art-free', 'art-kept'), [true, false, true]);

    await artifactsRepo.insert(db.kysely, 'art-unshared', BYTES, NOW);
    assert.equal(await mine(), []);
    await functionsRepo.delete(db.kysely, 'fa-art', NOW);
    await artifactsRepo.deleteUnused(db.kysely, ['art-used', 'art-unshared']);
    assert.equal(await stored('art-used', 'art-unshared', 'art-kept', 'art-1'), [false, false, true, true], 'no version uses them any more');
  });
};
