// The agent's settings: a data folder too long for the unix sockets made below it is refused, naming the limit;
// `--runtime name=image` may be given several times (and CPUB_AGENT_RUNTIMES comma-separated), each checked.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadAgentConfig, MAX_DATA_DIR_BYTES } from './config.js';
import { SettingsError } from '../../common/settings.js';
import { Command } from 'commander';
import { addSettingOptions, flagsFrom } from '../../common/settings-options.js';
import { agentSettings } from './config.js';

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

test('--runtime is repeatable, the variable takes a list, and each pair is checked', () => {
  const cmd = addSettingOptions(new Command('start').exitOverride(), agentSettings, ['runtimes']);
  cmd.parse(['--runtime', 'python-ml=registry.example.com/py-ml:3.11', '--runtime', 'ruby=localhost/ruby:3'], { from: 'user' });
  const flags = flagsFrom(cmd.opts(), agentSettings);
  assert.equal(loadAgentConfig({ CPUB_AGENT_RUNTIMES: 'go=x:1' }, flags).runtimes, { 'python-ml': 'registry.example.com/py-ml:3.11', ruby: 'localhost/ruby:3' }, 'the flags win over the variable');
  assert.equal(loadAgentConfig({ CPUB_AGENT_RUNTIMES: ' go=x:1, python=y:2 ' }).runtimes, { go: 'x:1', python: 'y:2' });
  assert.equal(loadAgentConfig({}).runtimes, {});
  for (const [value, says] of [
    ['ruby', '"ruby" must be name=image'],
    ['Ruby=x:1', 'runtime name "Ruby"'],
    ['node=x:1', 'the runtime "node" is the agent'],
    ['ruby=x:1,ruby=y:2', 'runtime ruby is given twice'],
  ]) {
    try {
      loadAgentConfig({ CPUB_AGENT_RUNTIMES: value });
      assert.unreachable(`${value} was taken`);
    } catch (err) {
      assert.instance(err, SettingsError);
      assert.match((err as Error).message, says);
      assert.match((err as Error).message, 'CPUB_AGENT_RUNTIMES (--runtime)');
    }
  }
});

test.run();
