// Runs before `npm start` and `npm test` (npm's prestart/pretest) on plain Node, with nothing installed:
// the Debian packages the command needs, the npm dependencies when missing or stale against the
// lockfile, then Node 24 and code-server under .tools/. Each problem is one `error:` line and exit 2.
//
//   node scripts/bootstrap.mjs start|test
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = resolve(import.meta.dirname, '..');

/** Debian packages each command needs, and why. */
export const DEBIAN_PACKAGES = {
  // code-server's install compiles the `kerberos` module against gssapi.h.
  start: ['libkrb5-dev'],
  test: [
    'libkrb5-dev',
    'chromium', // browser and end-to-end tests (Playwright drives Debian's Chromium, never a download)
    'libvulkan1', // Dawn for Node and Chromium's WebGPU on SwiftShader
    'python3-torch', // independent PyTorch references
    'python3-numpy',
    'python3-regex', // the Python BPE reference's pre-tokenizer
  ],
};

export class BootstrapError extends Error {}

/** Installed state of each package as dpkg knows it; null where this is not a dpkg system. */
export function installedDebianPackages(names, query = spawnSync) {
  const r = query('dpkg-query', ['-W', '-f=${Package} ${Status}\\n', ...names], { encoding: 'utf8' });
  if (r.error) return null;
  const installed = new Set();
  for (const line of (r.stdout ?? '').split('\n')) {
    const [name, ...status] = line.trim().split(' ');
    if (name && status.join(' ') === 'install ok installed') installed.add(name.replace(/:.*$/, ''));
  }
  return installed;
}

/** What to do about the Debian packages: nothing, install them (root), or stop with the exact command. */
export function debianPlan(needed, installed, isRoot) {
  if (installed === null) return { kind: 'unknown' };
  const missing = needed.filter((p) => !installed.has(p));
  if (missing.length === 0) return { kind: 'none' };
  const command = `apt-get install -y ${missing.join(' ')}`;
  return isRoot ? { kind: 'install', missing, command } : { kind: 'ask', missing, command: `sudo apt-get update && sudo ${command}` };
}

/** Fingerprint of what `npm ci` installs: the lockfile and the Node ABI the native modules were installed for. */
export function dependencyStamp(root = REPO_ROOT) {
  const lock = readFileSync(join(root, 'package-lock.json'));
  return createHash('sha256').update(lock).update(`\0${process.versions.modules}`).digest('hex');
}

const stampFile = (root) => join(root, 'node_modules', '.attention-inspector-deps');

/** True when node_modules was installed by `npm ci` from the current lockfile. */
export function dependenciesCurrent(root = REPO_ROOT) {
  const file = stampFile(root);
  return existsSync(file) && readFileSync(file, 'utf8').trim() === dependencyStamp(root);
}

function run(what, command, args, env = process.env) {
  const r = spawnSync(command, args, { cwd: REPO_ROOT, stdio: 'inherit', env });
  if (r.error) throw new BootstrapError(`${what}: ${r.error.message}`);
  if (r.status !== 0) throw new BootstrapError(`${what} failed (exit ${r.status}); its output is above`);
}

function say(line) {
  console.log(`[bootstrap] ${line}`);
}

function ensureDebianPackages(task) {
  const needed = DEBIAN_PACKAGES[task];
  const plan = debianPlan(needed, installedDebianPackages(needed), process.getuid?.() === 0);
  if (plan.kind === 'unknown') {
    say(`not a Debian system (no dpkg-query): make sure these are installed: ${needed.join(' ')}`);
  } else if (plan.kind === 'ask') {
    throw new BootstrapError(`missing Debian packages ${plan.missing.join(', ')}; install them with: ${plan.command}`);
  } else if (plan.kind === 'install') {
    say(`installing Debian packages: ${plan.missing.join(' ')}`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    run('apt-get update', 'apt-get', ['update', '-q'], env);
    run(plan.command, 'apt-get', ['install', '-y', '-q', ...plan.missing], env);
  }
}

function ensureNpmDependencies() {
  if (dependenciesCurrent()) return;
  say(existsSync(join(REPO_ROOT, 'node_modules')) ? 'npm dependencies are stale against package-lock.json: npm ci' : 'installing npm dependencies: npm ci');
  // onnxruntime-node is a test reference on the CPU: its optional GPU download is never wanted.
  run('npm ci', 'npm', ['ci', '--no-audit', '--no-fund'], { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' });
  writeFileSync(stampFile(REPO_ROOT), `${dependencyStamp()}\n`);
}

function ensureCodeServer() {
  run('installing Node 24 and code-server under .tools/', process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'scripts', 'vscodeServer.ts'), 'install']);
}

function main() {
  const task = process.argv[2];
  if (!(task in DEBIAN_PACKAGES)) throw new BootstrapError(`usage: node scripts/bootstrap.mjs ${Object.keys(DEBIAN_PACKAGES).join('|')}`);
  const [major] = process.versions.node.split('.').map(Number);
  if (major < 20) throw new BootstrapError(`Node ${process.versions.node} is too old: Node 20 or newer runs these scripts`);
  ensureDebianPackages(task);
  ensureNpmDependencies();
  ensureCodeServer();
}

if (resolve(process.argv[1] ?? '') === fileURLToPath(import.meta.url)) {
  try {
    main();
  } catch (e) {
    console.error(`error: ${e instanceof BootstrapError ? e.message : e instanceof Error ? e.message : String(e)}`);
    process.exit(2);
  }
}
