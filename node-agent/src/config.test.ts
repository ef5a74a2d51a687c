// The agent's settings: a data folder too long for the unix sockets made below it is refused, naming the limit.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadAgentConfig, MAX_DATA_DIR_BYTES } from './config.js';
import { SettingsError } from '../../common/settings.js';

test('a data folder whose container sockets would pass 107 bytes is refused at once, with the limit', () => {
  const long = `/${'d'.repeat(MAX_DATA_DIR_BYTES)}`;
  try {
    loadAgentConfig({ CPUB_AGENT_DATA_DIR: long });
    assert.unreachable('a data folder this long was taken');
  } catch (err) {
    assert.instance(err, SettingsError);
    assert.match((err as Error).message, `at most ${MAX_DATA_DIR_BYTES}`);
  }
  const fine = `/${'d'.repeat(MAX_DATA_DIR_BYTES - 1)}`;
  assert.is(loadAgentConfig({ CPUB_AGENT_DATA_DIR: fine }).dataDir, fine);
});

test.run();
