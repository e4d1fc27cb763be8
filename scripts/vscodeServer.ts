/**
 * A real VS Code (code-server) for `npm start`, the end-to-end tests and the inspect benchmark.
 *
 *   await ensureCodeServer();                        // Node 24 + code-server under .tools/, once
 *   const vsix = packageVsix();                      // build --production + vsce → attention-inspector-X.vsix
 *   const server = await startVsCodeServer({ workspace: 'samples', vsix });
 *   server.workbenchUrl()                            // http://127.0.0.1:PORT/?folder=/abs/samples
 *   await server.stop();                             // kills the whole process group
 *
 * Everything code-server writes (user data, extensions, XDG config/data, logs) lives in a fresh folder
 * under .tools/runs/ (or `dataDir`), never under ~/.config or ~/.local. Installing reaches only the npm
 * registry (npm's cache first), so it works offline once cached; it holds a file lock so that two
 * processes never install at once. See shared/guides/real-vscode.md for the facts behind the flags.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(import.meta.dirname, '..');
export const TOOLS_DIR = join(REPO_ROOT, '.tools');
export const NODE24_VERSION = '24.21.0';
export const CODE_SERVER_VERSION = '4.139.1';

const nodeDir = join(TOOLS_DIR, `node-${NODE24_VERSION}`);
const codeServerDir = join(TOOLS_DIR, `code-server-${CODE_SERVER_VERSION}`);
export const NODE24_BIN = join(nodeDir, 'node_modules', 'node', 'bin');
const CODE_SERVER_ENTRY = join(codeServerDir, 'node_modules', 'code-server', 'out', 'node', 'entry.js');

/** User settings that keep first-run noise (welcome page, trust prompt, chat, updates) out of the way. */
export const QUIET_SETTINGS: Record<string, unknown> = {
  'workbench.startupEditor': 'none',
  'security.workspace.trust.enabled': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'chat.disableAIFeatures': true,
  'git.enabled': false,
  'editor.hover.delay': 100,
  'workbench.tips.enabled': false,
  'window.restoreWindows': 'none',
};

export class VsCodeServerError extends Error {
  override name = 'VsCodeServerError';
}

type Log = (line: string) => void;
const quiet: Log = () => {};

function run(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; what: string }): void {
  const r = spawnSync(command, args, { cwd: options.cwd ?? REPO_ROOT, env: options.env ?? process.env, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) {
    const tail = `${r.stdout ?? ''}\n${r.stderr ?? ''}`.trim().split('\n').slice(-25).join('\n');
    throw new VsCodeServerError(`${options.what} failed (${r.error?.message ?? `exit ${r.status}`}):\n${tail}`);
  }
}

function npmInstall(prefix: string, spec: string, env: NodeJS.ProcessEnv, what: string): void {
  mkdirSync(prefix, { recursive: true });
  // A package.json of its own keeps npm from walking up into the project's.
  if (!existsSync(join(prefix, 'package.json'))) writeFileSync(join(prefix, 'package.json'), '{ "private": true }\n');
  // Under `npm start`/`npm test` the outer npm's npm_config_* variables would configure this npm too:
  // its user agent names Node 20, and code-server's install script reads the Node version from it.
  const own = Object.fromEntries(Object.entries(env).filter(([k]) => !k.toLowerCase().startsWith('npm_')));
  run('npm', ['install', '--prefix', prefix, '--no-save', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', spec], { cwd: prefix, env: own, what });
}

/** True once Node 24 and code-server are installed under .tools/. */
export function codeServerInstalled(): boolean {
  return existsSync(join(NODE24_BIN, 'node')) && existsSync(CODE_SERVER_ENTRY) && existsSync(join(codeServerDir, '.complete'));
}

/**
 * Installs Node 24 (npm package `node`) and code-server into .tools/ unless they are there. About
 * 1.5 min and 620 MB the first time; instant afterwards. Needs libkrb5-dev (code-server compiles `kerberos`).
 */
export function ensureCodeServer(log: Log = quiet): { node: string; entry: string } {
  if (!codeServerInstalled()) {
    mkdirSync(TOOLS_DIR, { recursive: true });
    // The lock is taken by a child `flock` that runs this same install; a second caller waits there,
    // then finds the install done.
    if (process.env.ATTN_TOOLS_LOCKED !== '1') {
      log(`installing Node ${NODE24_VERSION} and code-server ${CODE_SERVER_VERSION} under .tools/ (first time only, ~2 min)`);
      run('flock', [join(TOOLS_DIR, '.install.lock'), process.execPath, '--import', 'tsx', fileURLToPath(import.meta.url), 'install'], {
        env: { ...process.env, ATTN_TOOLS_LOCKED: '1' },
        what: 'installing code-server',
      });
    } else {
      if (!existsSync(join(NODE24_BIN, 'node'))) npmInstall(nodeDir, `node@${NODE24_VERSION}`, process.env, `npm install node@${NODE24_VERSION}`);
      // code-server's install scripts must run on Node 24, so it goes first on PATH for npm.
      const env = { ...process.env, PATH: `${NODE24_BIN}:${process.env.PATH}` };
      npmInstall(codeServerDir, `code-server@${CODE_SERVER_VERSION}`, env, `npm install code-server@${CODE_SERVER_VERSION} (needs libkrb5-dev)`);
      writeFileSync(join(codeServerDir, '.complete'), `${CODE_SERVER_VERSION}\n`);
    }
  }
  if (!codeServerInstalled()) throw new VsCodeServerError('code-server is still missing under .tools/ after installing it');
  return { node: join(NODE24_BIN, 'node'), entry: CODE_SERVER_ENTRY };
}

/** Path of the VSIX `npm run package` writes. */
export function vsixPath(): string {
  const { name, version } = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { name: string; version: string };
  return join(REPO_ROOT, `${name}-${version}.vsix`);
}

/**
 * Production build into a staging folder under .tools/ (so that no build of dist/ running beside it can
 * change files while they are zipped), then `vsce package` there. Everything is bundled, so no
 * node_modules go in; .vscodeignore picks the rest (dist/, media/, no source maps, one ORT binary).
 */
export function packageVsix(log: Log = quiet): string {
  const out = vsixPath();
  // A stage of its own per call, and an atomic rename at the end: packaging runs beside test runs.
  mkdirSync(TOOLS_DIR, { recursive: true });
  const stage = mkdtempSync(join(TOOLS_DIR, 'vsix-stage-'));
  try {
    log('building (production)');
    run(process.execPath, [join(REPO_ROOT, 'scripts', 'build.mjs'), '--production', '--outdir', join(stage, 'dist')], { what: 'production build' });
    for (const f of ['package.json', 'README.md', 'LICENSE', '.vscodeignore', 'media']) {
      if (existsSync(join(REPO_ROOT, f))) cpSync(join(REPO_ROOT, f), join(stage, f), { recursive: true });
    }
    log(`packaging ${out}`);
    const tmp = join(stage, 'out.vsix');
    run(process.execPath, [join(REPO_ROOT, 'node_modules', '@vscode', 'vsce', 'vsce'), 'package', '--no-dependencies', '--allow-missing-repository', '--skip-license', '--no-rewrite-relative-links', '--out', tmp], {
      cwd: stage,
      what: 'vsce package',
    });
    renameSync(tmp, out);
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
  return out;
}

async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => ok(port));
    });
  });
}

export interface VsCodeServerOptions {
  /** Folder opened by `workbenchUrl()`. */
  workspace: string;
  /** Extension to install before starting (a .vsix path). */
  vsix?: string;
  /** Port on 127.0.0.1; default a free one. */
  port?: number;
  /** Folder for user data, extensions and logs; default a new one under .tools/runs/. */
  dataDir?: string;
  /** User settings on top of QUIET_SETTINGS. */
  settings?: Record<string, unknown>;
  /** User keybindings (keybindings.json entries: key, command, args, when). */
  keybindings?: Record<string, unknown>[];
  /** Where to send code-server's own output lines (default: only kept in `dataDir/server.log`). */
  log?: Log;
  /** How long to wait for /healthz (default 120 s: a cold start on 2 busy cores is slow). */
  startTimeoutMs?: number;
}

export interface VsCodeServer {
  port: number;
  origin: string;
  dataDir: string;
  /** VS Code's log folder: one subfolder per window session, with exthostN/EXTENSION-ID/CHANNEL.log. */
  logsDir: string;
  /** Workbench URL with `folder` (default: the workspace) opened. */
  workbenchUrl(folder?: string): string;
  stop(): Promise<void>;
}

/** Installs the VSIX (if given) and starts code-server in its own process group; resolves once /healthz answers. */
export async function startVsCodeServer(options: VsCodeServerOptions): Promise<VsCodeServer> {
  const { node, entry } = ensureCodeServer(options.log);
  const dataDir = options.dataDir ?? (mkdirSync(join(TOOLS_DIR, 'runs'), { recursive: true }), mkdtempSync(join(TOOLS_DIR, 'runs', 'vscode-')));
  const userDir = join(dataDir, 'user');
  const extDir = join(dataDir, 'extensions');
  const logsDir = join(userDir, 'logs');
  for (const d of [join(userDir, 'User'), extDir, join(dataDir, 'xdg-config'), join(dataDir, 'xdg-data')]) mkdirSync(d, { recursive: true });
  writeFileSync(join(userDir, 'User', 'settings.json'), JSON.stringify({ ...QUIET_SETTINGS, ...options.settings }, null, 2));
  if (options.keybindings) writeFileSync(join(userDir, 'User', 'keybindings.json'), JSON.stringify(options.keybindings, null, 2));
  writeFileSync(join(dataDir, 'config.yaml'), 'auth: none\ncert: false\n');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${NODE24_BIN}:${process.env.PATH}`,
    XDG_CONFIG_HOME: join(dataDir, 'xdg-config'),
    XDG_DATA_HOME: join(dataDir, 'xdg-data'),
    XDG_CACHE_HOME: join(dataDir, 'xdg-cache'),
  };
  // Variables of an outer VS Code or Node test runner would leak into the extension host.
  for (const k of Object.keys(env)) if (k.startsWith('VSCODE_')) delete env[k];
  delete env.NODE_OPTIONS;
  delete env.NODE_TEST_CONTEXT;
  const dirs = ['--user-data-dir', userDir, '--extensions-dir', extDir];
  if (options.vsix) run(node, [entry, ...dirs, '--install-extension', resolve(options.vsix), '--force'], { env, what: `installing ${options.vsix}` });

  const port = options.port ?? (await freePort());
  const args = [
    entry, '--auth', 'none', '--bind-addr', `127.0.0.1:${port}`, '--disable-telemetry', '--disable-update-check',
    '--disable-workspace-trust', '--disable-getting-started-override', '--reconnection-grace-time', '5',
    '--vscode-option', 'enable-smoke-test-driver', '--config', join(dataDir, 'config.yaml'), ...dirs, resolve(options.workspace),
  ];
  // detached = setsid: the server, its extension hosts and file watchers share one process group.
  const child: ChildProcess = spawn(node, args, { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const serverLog: string[] = [];
  const onData = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
      serverLog.push(line);
      options.log?.(line);
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  let exited: number | null | undefined;
  child.on('exit', (code) => {
    exited = code;
    writeFileSync(join(dataDir, 'server.log'), serverLog.join('\n'));
  });

  // If this process ends without calling stop() (a killed test run, Ctrl+C), take the group with it.
  const onExit = () => child.pid && killGroup(child.pid, 'SIGKILL');
  const onSignal = (signal: NodeJS.Signals) => {
    onExit();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('exit', onExit);
  process.once('SIGTERM', onSignal);
  process.once('SIGHUP', onSignal);

  const origin = `http://127.0.0.1:${port}`;
  const stop = async () => {
    process.off('exit', onExit);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
    if (exited === undefined && child.pid) {
      const gone = new Promise((ok) => child.once('exit', ok));
      killGroup(child.pid, 'SIGTERM');
      const timer = setTimeout(() => killGroup(child.pid!, 'SIGKILL'), 5000);
      await gone;
      clearTimeout(timer);
    }
    // Stray members of the group (watchers) may outlive the leader.
    if (child.pid) killGroup(child.pid, 'SIGKILL');
    writeFileSync(join(dataDir, 'server.log'), serverLog.join('\n'));
  };
  const deadline = Date.now() + (options.startTimeoutMs ?? 120_000);
  for (;;) {
    if (exited !== undefined) throw new VsCodeServerError(`code-server exited (${exited}) before answering:\n${serverLog.slice(-20).join('\n')}`);
    try {
      if ((await fetch(`${origin}/healthz`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new VsCodeServerError(`code-server did not answer /healthz within ${(options.startTimeoutMs ?? 120_000) / 1000} s:\n${serverLog.slice(-20).join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  const workspace = resolve(options.workspace);
  return {
    port,
    origin,
    dataDir,
    logsDir,
    workbenchUrl: (folder = workspace) => `${origin}/?folder=${encodeURIComponent(resolve(folder))}`,
    stop,
  };
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

// `node --import tsx scripts/vscodeServer.ts install | package`: install the tools (.ci/run, and the
// locked child above), or write the VSIX (`npm run package`).
if (resolve(process.argv[1] ?? '') === fileURLToPath(import.meta.url)) {
  const say = (line: string) => console.log(line);
  try {
    if (process.argv[2] === 'install') ensureCodeServer(say);
    else if (process.argv[2] === 'package') say(`wrote ${packageVsix(say)}`);
    else throw new VsCodeServerError('usage: node --import tsx scripts/vscodeServer.ts install | package');
  } catch (e) {
    console.error(`error: ${e instanceof Error ? e.message : String(e)}`);
    process.exitCode = 2;
  }
}
