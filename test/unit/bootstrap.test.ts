import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { debianPlan, dependenciesCurrent, dependencyStamp, installedDebianPackages } from '../../scripts/bootstrap.mjs';

function dpkgAnswer(stdout: string): typeof spawnSync {
  return (() => ({ stdout, stderr: '', status: 1, pid: 0, output: [], signal: null }) as SpawnSyncReturns<string>) as unknown as typeof spawnSync;
}

describe('bootstrap', () => {
  it('reads which packages dpkg has installed, not those only known or removed', () => {
    const installed = installedDebianPackages(
      ['chromium', 'libvulkan1', 'python3-torch'],
      dpkgAnswer('chromium install ok installed\nlibvulkan1:amd64 install ok installed\npython3-torch deinstall ok config-files\n'),
    );
    assert.deepEqual([...(installed ?? [])].sort(), ['chromium', 'libvulkan1']);
  });

  it('says so where there is no dpkg', () => {
    const noDpkg = (() => ({ error: new Error('spawnSync dpkg-query ENOENT') })) as unknown as typeof spawnSync;
    assert.equal(installedDebianPackages(['chromium'], noDpkg), null);
    assert.deepEqual(debianPlan(['chromium'], null, true), { kind: 'unknown' });
  });

  it('installs what is missing as root, and otherwise names the exact command', () => {
    const installed = new Set(['chromium']);
    assert.deepEqual(debianPlan(['chromium'], installed, false), { kind: 'none' });
    assert.deepEqual(debianPlan(['chromium', 'libvulkan1', 'python3-torch'], installed, true), {
      kind: 'install',
      missing: ['libvulkan1', 'python3-torch'],
      command: 'apt-get install -y libvulkan1 python3-torch',
    });
    assert.deepEqual(debianPlan(['chromium', 'libkrb5-dev'], installed, false), {
      kind: 'ask',
      missing: ['libkrb5-dev'],
      command: 'sudo apt-get update && sudo apt-get install -y libkrb5-dev',
    });
  });

  it('takes node_modules as current only when it was installed from this lockfile', () => {
    const root = mkdtempSync(join(tmpdir(), 'bootstrap-'));
    try {
      writeFileSync(join(root, 'package-lock.json'), '{"lockfileVersion":3}\n');
      assert.equal(dependenciesCurrent(root), false, 'no node_modules');
      mkdirSync(join(root, 'node_modules'));
      assert.equal(dependenciesCurrent(root), false, 'node_modules without a stamp (installed by hand)');
      writeFileSync(join(root, 'node_modules', '.attention-inspector-deps'), `${dependencyStamp(root)}\n`);
      assert.equal(dependenciesCurrent(root), true);
      writeFileSync(join(root, 'package-lock.json'), '{"lockfileVersion":3,"packages":{}}\n');
      assert.equal(dependenciesCurrent(root), false, 'lockfile changed since');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('answers a wrong call with one error line and exit 2', () => {
    const r = spawnSync(process.execPath, ['scripts/bootstrap.mjs', 'deploy'], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.equal(r.stderr, 'error: usage: node scripts/bootstrap.mjs start|test\n');
  });
});
