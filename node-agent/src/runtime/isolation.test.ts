// Our seccomp profile is Podman's default less namespace creation and the escape-prone calls; the subordinate
// id range Podman's `--userns=auto` needs is added once, and a failure to add it is a typed error.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DENIED_SYSCALLS, ensureContainersRange, functionSeccompProfile } from './isolation.js';
import { AgentError } from '../errors.js';

const s = suite('isolation');

const base = {
  defaultAction: 'SCMP_ACT_ERRNO',
  syscalls: [
    { names: ['read', 'write', 'unshare', 'clone', 'clone3', 'setns'], action: 'SCMP_ACT_ALLOW' },
    { names: ['bpf', 'keyctl'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYS_ADMIN'] } },
  ],
};

type Rule = { names: string[]; action: string; errnoRet?: number; args?: { index: number; value: number; valueTwo: number; op: string }[] };

s('the default’s rules are kept less clone, clone3 and every denied call, which are refused', () => {
  const p = functionSeccompProfile(structuredClone(base)) as { defaultAction: string; syscalls: Rule[] };
  assert.is(p.defaultAction, 'SCMP_ACT_ERRNO', 'the rest of the profile is the default’s');
  assert.equal(p.syscalls[0], { names: ['read', 'write'], action: 'SCMP_ACT_ALLOW' });
  assert.is(p.syscalls.filter((r) => r.names.includes('bpf') && r.action === 'SCMP_ACT_ALLOW').length, 0, 'a rule left with no names is dropped');
  for (const name of DENIED_SYSCALLS) {
    const rules = p.syscalls.filter((r) => r.names.includes(name));
    assert.equal(rules.map((r) => [r.action, r.errnoRet]), [['SCMP_ACT_ERRNO', 1]], `${name}: EPERM only`);
  }
  assert.equal(p.syscalls.filter((r) => r.names.includes('clone3')).map((r) => [r.action, r.errnoRet]), [['SCMP_ACT_ERRNO', 38]], 'clone3: ENOSYS, so glibc falls back to clone');
});

s('clone is allowed only without namespace flags', () => {
  const p = functionSeccompProfile(structuredClone(base)) as { syscalls: Rule[] };
  const clone = p.syscalls.filter((r) => r.names.includes('clone'));
  const allow = clone.filter((r) => r.action === 'SCMP_ACT_ALLOW');
  const NEWUSER = 0x10000000;
  const NEWNET = 0x40000000;
  assert.ok(allow.length > 0 && allow.every((r) => r.args?.length === 1 && r.args[0]!.op === 'SCMP_CMP_MASKED_EQ' && r.args[0]!.valueTwo === 0), 'allowed only when the masked flags are 0');
  for (const bit of [NEWUSER, NEWNET]) {
    assert.ok(allow.every((r) => (r.args![0]!.value & bit) === bit), `the mask covers ${bit.toString(16)}`);
    assert.ok(clone.some((r) => r.action === 'SCMP_ACT_ERRNO' && r.errnoRet === 1 && r.args?.[0]?.value === bit && r.args[0].valueTwo === bit), `clone with ${bit.toString(16)} is EPERM`);
  }
});

let dir: string;
s.before.each(() => {
  dir = mkdtempSync(join(tmpdir(), 'cpub-subid-'));
});
s.after.each(() => rmSync(dir, { recursive: true, force: true }));

s('the containers range is added to subuid and subgid when missing, once', () => {
  const files = { subuid: join(dir, 'subuid'), subgid: join(dir, 'subgid') };
  writeFileSync(files.subuid, 'alice:100000:65536'); // no final newline
  const added = ensureContainersRange(files);
  assert.is(added.length, 2);
  assert.is(readFileSync(files.subuid, 'utf8'), 'alice:100000:65536\ncontainers:2147483647:2147483648\n');
  assert.is(readFileSync(files.subgid, 'utf8'), 'containers:2147483647:2147483648\n');
  assert.equal(ensureContainersRange(files), [], 'present: nothing to do');
  assert.is(readFileSync(files.subuid, 'utf8').match(/containers:/g)!.length, 1);
});

s('a file that cannot be written is an AgentError no_subordinate_ids', () => {
  try {
    ensureContainersRange({ subuid: join(dir, 'no-such-folder', 'subuid'), subgid: join(dir, 'subgid') });
    assert.unreachable('it did not fail');
  } catch (err) {
    assert.instance(err, AgentError);
    assert.equal([(err as AgentError).kind, (err as AgentError).code], ['unavailable', 'no_subordinate_ids']);
  }
});

s.run();
