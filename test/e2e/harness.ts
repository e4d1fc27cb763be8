/**
 * Playwright helpers for the end-to-end tests: the packaged extension in a real VS Code (code-server)
 * driven in headless Debian Chromium. One server per test file:
 *
 *   let wb: Workbench;
 *   before(async () => { wb = await Workbench.start('smoke'); });    // package + install + start + open samples/
 *   after(async () => { await wb?.close(); });                        // always stops browser and server
 *   e2eTest('inspects a selection', () => wb, async () => {           // on failure: screenshot + logs saved
 *     await wb.quickOpen('attention.ts');
 *     await wb.selectText('export function softmax');                 // or selectLines(4, 9) / selectRange(...)
 *     await wb.runCommand('Inspect Attention');
 *     const panel = await wb.webview('Attention Inspector');          // FrameLocator inside the webview
 *     const hover = await wb.hover(5, 10, /token/);                   // text of .monaco-hover, once it matches
 *     await wb.screenshot('inspect');                                 // test-results/e2e/inspect.png
 *   });
 *
 * Selections are made with the keyboard (Go to Line/Column, then Shift+arrows), positions are 1-based
 * (line, column) as in VS Code's status bar. The VSIX is packaged once per `npm test` run (reused while
 * it is newer than dist/ and package.json). Waits are generous (a fresh 2-core machine is slow);
 * nothing here asserts on time.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { test, type TestContext } from 'node:test';
import { chromium, type BrowserContext, type FrameLocator, type Locator, type Page } from 'playwright-core';
import { CHROMIUM_WEBGPU_ARGS } from '../../cli/chromium.js';
import { packageVsix, REPO_ROOT, startVsCodeServer, vsixPath, type VsCodeServer } from '../../scripts/vscodeServer.js';

export const SAMPLES = join(REPO_ROOT, 'samples');
export const RESULTS = join(REPO_ROOT, 'test-results', 'e2e');
/** Default wait for UI steps; the first workbench load on a cold 2-core machine takes tens of seconds. */
export const UI_TIMEOUT = 60_000;

const BASE_ARGS = ['--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-breakpad', '--disable-crash-reporter'];
const isMac = process.platform === 'darwin';
const EXTENSION_ID = 'attention-inspector.attention-inspector';

export interface WorkbenchOptions {
  /** Folder opened in VS Code (default samples/); a fresh copy of it is opened, so tests never change the original. */
  workspace?: string;
  /** Chromium with WebGPU on SwiftShader (slow; correctness only) instead of --disable-gpu. */
  webgpu?: boolean;
  /** Extra user settings. */
  settings?: Record<string, unknown>;
  /** User keybindings, e.g. two commands on keys pressed in one go (faster than any palette). */
  keybindings?: Record<string, unknown>[];
  /** Extra Chromium flags (e.g. `--js-flags=--expose-gc`, so a page can collect before it measures its heap). */
  browserArgs?: string[];
  viewport?: { width: number; height: number };
}

function newestMtime(path: string): number {
  const s = statSync(path, { throwIfNoEntry: false });
  if (!s) return 0;
  if (!s.isDirectory()) return s.mtimeMs;
  return Math.max(s.mtimeMs, ...readdirSync(path).map((f) => newestMtime(join(path, f))));
}

/** The VSIX, packaged unless one newer than the sources it is made of exists. */
export function ensureVsix(): string {
  const out = vsixPath();
  const built = statSync(out, { throwIfNoEntry: false })?.mtimeMs ?? 0;
  const sources = Math.max(...['src', 'webview', 'kernels', 'media', 'package.json', 'README.md', '.vscodeignore', 'scripts/build.mjs'].map((p) => newestMtime(join(REPO_ROOT, p))));
  return built > sources ? out : packageVsix();
}

export class Workbench {
  private readonly consoleLines: string[] = [];
  private failed = false;

  private constructor(
    readonly name: string,
    public server: VsCodeServer,
    public context: BrowserContext,
    public page: Page,
    readonly workspace: string,
    /** Holds the workspace copy and Chromium's profile. */
    private readonly scratch: string,
    private readonly options: WorkbenchOptions,
  ) {
    this.watch(page);
  }

  /** Chromium's profile folder: its processes name it on their command lines (scripts/browserMemory.ts). */
  get profileDir(): string {
    return profileDir(this.scratch);
  }

  private watch(page: Page): void {
    page.on('console', (m) => this.consoleLines.push(`[${m.type()}] ${m.text()}`));
    page.on('pageerror', (e) => this.consoleLines.push(`[pageerror] ${e.message}`));
  }

  /** Packages (if needed) and installs the extension, starts code-server and Chromium, opens the workspace. */
  static async start(name: string, options: WorkbenchOptions = {}): Promise<Workbench> {
    const source = resolve(options.workspace ?? SAMPLES);
    const scratch = mkdtempSync(join(tmpdir(), 'attn-e2e-'));
    const workspace = join(scratch, basename(source));
    cpSync(source, workspace, { recursive: true });
    const server = await startVsCodeServer({ workspace, vsix: ensureVsix(), settings: userSettings(options), keybindings: options.keybindings });
    let context: BrowserContext | undefined;
    try {
      context = await launchBrowser(scratch, options);
      const wb = new Workbench(name, server, context, await firstPage(context), workspace, scratch, options);
      await wb.open();
      return wb;
    } catch (e) {
      await context?.close().catch(() => {});
      await server.stop();
      rmSync(scratch, { recursive: true, force: true });
      throw e;
    }
  }

  /**
   * Quits VS Code and the browser and starts both again on the same port, browser profile and user data,
   * as a user restarts VS Code: its webview service worker and caches are there from the last run.
   */
  async restart(): Promise<void> {
    // Leaving the page lets the workbench save its state, as closing its window does.
    await this.page.goto('about:blank');
    await this.context.close();
    await this.server.stop();
    this.server = await startVsCodeServer({ workspace: this.workspace, port: this.server.port, dataDir: this.server.dataDir, settings: userSettings(this.options), keybindings: this.options.keybindings });
    this.context = await launchBrowser(this.scratch, this.options);
    this.page = await firstPage(this.context);
    this.watch(this.page);
    await this.open();
  }

  /**
   * Changes user settings while VS Code runs, as a person does: in the user settings JSON, saved. (A file
   * written behind code-server's back is not read again: a setting changed that way never reached the
   * extension.) What the file holds (settings VS Code wrote too) is kept; the JSON goes in as one line of
   * inserted text, which the editor does not auto-close. Closes every editor after.
   */
  async updateSettings(settings: Record<string, unknown>): Promise<void> {
    this.options.settings = { ...this.options.settings, ...settings };
    const file = join(this.server.dataDir, 'user', 'User', 'settings.json');
    const saved = (): Record<string, unknown> | undefined => {
      try {
        return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
      } catch {
        return undefined; // read while VS Code writes it
      }
    };
    const wanted = { ...(JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>), ...settings };
    await this.focusWorkbench();
    await this.runCommand('Preferences: Open User Settings (JSON)');
    await this.page.locator('.tabs-container .tab.active[aria-label*="settings.json"]').waitFor();
    // The command leaves the keyboard in that editor.
    await this.page.locator('.editor-group-container.active .monaco-editor.focused').waitFor();
    await this.page.keyboard.press(isMac ? 'Meta+A' : 'Control+A');
    await this.page.keyboard.press('Delete');
    await this.page.keyboard.insertText(JSON.stringify(wanted));
    await this.page.keyboard.press(isMac ? 'Meta+S' : 'Control+S');
    for (const deadline = Date.now() + UI_TIMEOUT; JSON.stringify(saved()) !== JSON.stringify(wanted); ) {
      if (Date.now() > deadline) throw new Error(`the user settings were not saved as ${JSON.stringify(wanted)}: ${readFileSync(file, 'utf8')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await this.runCommand('View: Close All Editors');
    await this.page.locator('.tabs-container .tab[aria-label*="settings.json"]').waitFor({ state: 'detached' });
  }

  /** Loads the workbench at `folder` (default: the workspace) and waits until the editor area is there. */
  async open(folder = this.workspace): Promise<void> {
    await this.page.goto(this.server.workbenchUrl(folder));
    await this.waitForWorkbench();
  }

  /** Developer: Reload Window, as a user runs it (the workbench saves its state first); waits until it is back. */
  async reloadWindow(): Promise<void> {
    const navigated = this.page.waitForEvent('framenavigated', { predicate: (f) => f === this.page.mainFrame(), timeout: 120_000 });
    await this.focusWorkbench();
    await this.runCommand('Developer: Reload Window');
    await navigated;
    await this.waitForWorkbench();
  }

  private async waitForWorkbench(): Promise<void> {
    await this.page.locator('.monaco-workbench').waitFor({ timeout: 120_000 });
    await this.page.locator('.part.editor').waitFor();
    // The explorer is there once the remote extension host has connected and the folder resolved.
    await this.page.locator('.explorer-folders-view .monaco-list-row').first().waitFor({ timeout: 120_000 });
  }

  /** Quick Open (Ctrl+P) a file by name in the first editor group and waits for its editor to be active. */
  async quickOpen(fileName: string): Promise<void> {
    // Files open in the main group.
    await this.focusWorkbench();
    await this.page.keyboard.press(isMac ? 'Meta+1' : 'Control+1');
    await this.page.keyboard.press(isMac ? 'Meta+p' : 'Control+p');
    const input = this.page.locator('.quick-input-widget input');
    await input.waitFor();
    await input.fill(fileName);
    // The row of that file, not the first: a recently opened file (the user settings) may fuzzy-match above it.
    await this.page.locator(`.quick-input-list .monaco-list-row[aria-label*="${cssString(fileName)}"]`).first().click();
    await this.page.locator(`.tabs-container .tab.active[aria-label*="${cssString(fileName)}"]`).waitFor();
    await this.activeEditor().locator('.view-lines').waitFor();
    await this.focusEditor();
    this.openFile = join(this.workspace, fileName);
  }

  private openFile: string | undefined;

  /** The text of the file last opened with quickOpen, as on disk. */
  fileText(): string {
    if (!this.openFile) throw new Error('no file opened with quickOpen yet');
    return readFileSync(this.openFile, 'utf8');
  }

  activeEditor(): Locator {
    return this.page.locator('.editor-group-container.active .monaco-editor').first();
  }

  /**
   * Takes the keyboard focus out of a webview: while a panel's iframe holds it, workbench shortcuts
   * (Ctrl+1, Ctrl+P) go to the page inside it and may never reach VS Code.
   */
  async focusWorkbench(): Promise<void> {
    await this.page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
  }

  /** Focuses the text editor of the first editor group (clicking a panel beside moves the focus there). */
  async focusEditor(): Promise<void> {
    await this.focusWorkbench();
    await this.page.keyboard.press(isMac ? 'Meta+1' : 'Control+1');
    await this.activeEditor().locator('.view-lines').click({ position: { x: 2, y: 2 } });
  }

  /** Moves the cursor to (line, column) with Go to Line/Column (Ctrl+G). */
  async goTo(line: number, column = 1): Promise<void> {
    await this.focusEditor();
    await this.page.keyboard.press('Control+g');
    const input = this.page.locator('.quick-input-widget input');
    await input.waitFor();
    // Ctrl+G opens the quick input with a ":" prefix, which fill() replaces.
    await input.fill(`:${line}:${column}`);
    await this.page.keyboard.press('Enter');
    await this.page.locator('.quick-input-widget').waitFor({ state: 'hidden' });
    await this.waitForCursor(line, column);
  }

  /** Selects from (line, column) to (endLine, endColumn), end exclusive, with the keyboard. */
  async selectRange(line: number, column: number, endLine: number, endColumn: number): Promise<void> {
    const lines = this.fileText().split(/\r?\n/);
    await this.goTo(line, column);
    for (let i = line; i < endLine; i++) await this.page.keyboard.press('Shift+ArrowDown');
    await this.page.keyboard.press('Shift+End');
    const back = lines[endLine - 1].length + 1 - endColumn;
    for (let i = 0; i < back; i++) await this.page.keyboard.press('Shift+ArrowLeft');
    await this.waitForCursor(endLine, endColumn);
  }

  /** Selects whole lines `from`..`to` (1-based, inclusive), without the final line break. */
  async selectLines(from: number, to: number): Promise<void> {
    const lines = this.fileText().split(/\r?\n/);
    await this.selectRange(from, 1, to, lines[to - 1].length + 1);
  }

  /** Selects the `occurrence`-th (1-based) occurrence of `text` in the open file; returns its range. */
  async selectText(text: string, occurrence = 1): Promise<{ line: number; column: number; endLine: number; endColumn: number }> {
    const content = this.fileText().replace(/\r\n/g, '\n');
    let at = -1;
    for (let n = 0; n < occurrence; n++) {
      at = content.indexOf(text, at + 1);
      if (at < 0) throw new Error(`"${text}" occurs fewer than ${occurrence} times in ${this.openFile}`);
    }
    const start = position(content, at);
    const end = position(content, at + text.length);
    await this.selectRange(start.line, start.column, end.line, end.column);
    return { line: start.line, column: start.column, endLine: end.line, endColumn: end.column };
  }

  /** The status bar's cursor item, e.g. "Ln 9, Col 2 (120 selected)". */
  async cursorStatus(): Promise<string> {
    return (await this.page.locator('#status\\.editor\\.selection').innerText()).trim();
  }

  private async waitForCursor(line: number, column: number): Promise<void> {
    const item = this.page.locator('#status\\.editor\\.selection');
    await item.filter({ hasText: new RegExp(`Ln ${line}, Col ${column}\\b`) }).waitFor();
  }

  /** Runs a command palette entry by its title (category prefixes match too); returns `Date.now()` at the Enter. */
  async runCommand(title: string): Promise<number> {
    await this.page.keyboard.press('F1');
    const input = this.page.locator('.quick-input-widget input');
    await input.waitFor();
    await input.fill(`>${title}`);
    await this.page.locator(`.quick-input-list .monaco-list-row[aria-label*="${cssString(title)}"]`).first().waitFor();
    const at = Date.now();
    await this.page.keyboard.press('Enter');
    await this.page.locator('.quick-input-widget').waitFor({ state: 'hidden' });
    return at;
  }

  /** Titles of the command palette entries matching `filter`. */
  async paletteEntries(filter: string): Promise<string[]> {
    await this.page.keyboard.press('F1');
    const input = this.page.locator('.quick-input-widget input');
    await input.waitFor();
    await input.fill(`>${filter}`);
    const rows = this.page.locator('.quick-input-list .monaco-list-row');
    await rows.first().waitFor();
    const labels = await rows.evaluateAll((els) => els.map((e) => e.getAttribute('aria-label') ?? ''));
    await this.page.keyboard.press('Escape');
    return labels;
  }

  /**
   * The content frame of a webview (editor panel or sidebar view) whose editor tab or view header
   * carries `title`, once it is shown. VS Code's webview iframes carry no title: the one whose centre
   * lies inside that tab's editor area or that view's body is the one. Inside it VS Code nests a
   * second iframe, `active-frame`, which holds the page.
   */
  async webview(title: string, timeoutMs = UI_TIMEOUT): Promise<FrameLocator> {
    const name = await this.page.waitForFunction((title) => {
      const frames = [...document.querySelectorAll<HTMLIFrameElement>('iframe.webview.ready')];
      const areas: Element[] = [];
      for (const group of document.querySelectorAll('.editor-group-container')) {
        const label = group.querySelector('.tab.active')?.getAttribute('aria-label') ?? '';
        if (label.startsWith(title)) areas.push(group.querySelector('.editor-container') ?? group);
      }
      for (const pane of document.querySelectorAll('.pane')) {
        const header = pane.querySelector('.pane-header');
        if (header && (header.textContent ?? '').toLowerCase().includes(title.toLowerCase())) areas.push(pane.querySelector('.pane-body') ?? pane);
      }
      for (const area of areas) {
        const r = area.getBoundingClientRect();
        const frame = frames.find((f) => {
          const b = f.getBoundingClientRect();
          const x = b.x + b.width / 2;
          const y = b.y + b.height / 2;
          return b.width > 0 && x >= r.left && x <= r.right && y >= r.top && y <= r.bottom;
        });
        if (frame) return frame.name;
      }
      return false;
    }, title, { timeout: timeoutMs });
    return this.page.frameLocator(`iframe.webview.ready[name="${cssString(String(await name.jsonValue()))}"]`).frameLocator('iframe#active-frame');
  }

  /**
   * Moves the mouse onto the character at (line, column) and returns the text of the hover there once
   * it matches `expected`. The cursor is moved there first so the editor has scrolled it into view.
   * VS Code shows a hover before all its providers have answered: "Loading..." when they take longer
   * than three hover delays (300 ms here, often the case on a loaded machine), filled in as they
   * answer; so the first text shown may not hold the part a test is after yet.
   */
  async hover(line: number, column: number, expected: RegExp, timeoutMs = UI_TIMEOUT): Promise<string> {
    await this.goTo(line, column);
    const cursor = this.activeEditor().locator('.cursors-layer .cursor').first();
    const box = await cursor.boundingBox();
    if (!box) throw new Error(`no cursor box at ${line}:${column}`);
    // Park the mouse elsewhere first so that a hover already showing closes and a new one opens.
    await this.page.mouse.move(1, 1);
    await this.page.mouse.move(box.x + 4, box.y + box.height / 2, { steps: 3 });
    const shown = this.page.locator('.monaco-hover:visible').last();
    await shown.waitFor();
    const hover = this.page.locator('.monaco-hover:visible', { hasText: expected }).last();
    try {
      await hover.waitFor({ timeout: timeoutMs });
    } catch (e) {
      const text = await shown.innerText().catch(() => '(no hover left)');
      throw new Error(`the hover at ${line}:${column} does not match ${expected} after ${timeoutMs / 1000} s; it reads:\n${text}`, { cause: e });
    }
    return (await hover.innerText()).trim();
  }

  /** Saves a screenshot of the whole window to test-results/e2e/NAME.png and returns its path. */
  async screenshot(name: string): Promise<string> {
    mkdirSync(RESULTS, { recursive: true });
    const path = join(RESULTS, `${name}.png`);
    await this.page.screenshot({ path });
    return path;
  }

  /** Log files under the server's log folder whose path matches `pattern`. */
  private logFiles(pattern: RegExp): string[] {
    const found: string[] = [];
    const walk = (dir: string) => {
      for (const f of readdirSync(dir, { withFileTypes: true })) {
        const p = join(dir, f.name);
        if (f.isDirectory()) walk(p);
        else if (f.name.endsWith('.log') && pattern.test(p)) found.push(p);
      }
    };
    if (existsSync(this.server.logsDir)) walk(this.server.logsDir);
    return found;
  }

  /** The extension's log output channel as VS Code mirrors it to disk (exthostN/EXTENSION-ID/CHANNEL.log). */
  extensionLogs(): string {
    return this.logFiles(new RegExp(`/exthost\\d*/${EXTENSION_ID.replace('.', '\\.')}/`)).map((p) => readFileSync(p, 'utf8')).join('\n');
  }

  /** Waits until the extension's log channel has a line matching `pattern`; returns the whole log. */
  async waitForLog(pattern: RegExp, timeoutMs = UI_TIMEOUT): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const log = this.extensionLogs();
      if (pattern.test(log)) return log;
      if (Date.now() > deadline) throw new Error(`the extension's log has no line matching ${pattern} after ${timeoutMs / 1000} s:\n${log}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** The extension's log, the extension host's log and code-server's own output, for failure reports. */
  allLogs(): string {
    const files = this.logFiles(new RegExp(`/${EXTENSION_ID.replace('.', '\\.')}/|exthost\\.log$|remoteagent\\.log$`));
    const server = join(this.server.dataDir, 'server.log');
    if (existsSync(server)) files.push(server);
    return files.map((p) => `===== ${p}\n${readFileSync(p, 'utf8')}`).join('\n');
  }

  /** Saves a screenshot, the extension's logs and the page console for a failed test. */
  async saveFailure(testName: string): Promise<void> {
    this.failed = true;
    const base = `${this.name}-${testName.replace(/[^\w.-]+/g, '_')}-failure`;
    mkdirSync(RESULTS, { recursive: true });
    await this.screenshot(base).catch(() => {});
    writeFileSync(join(RESULTS, `${base}.log`), `${this.allLogs()}\n===== browser console\n${this.consoleLines.join('\n')}\n`);
  }

  /**
   * Closes the browser and stops the server (its whole process group); safe to call twice. The
   * server's folder (logs, user data) is kept after a failure and removed otherwise.
   */
  async close(): Promise<void> {
    await this.context.close().catch(() => {});
    await this.server.stop();
    rmSync(this.scratch, { recursive: true, force: true });
    if (!this.failed) rmSync(this.server.dataDir, { recursive: true, force: true });
  }
}

// No word wrap (Markdown wraps by default): Shift+End must reach the end of the line, not of its first row.
function userSettings(options: WorkbenchOptions): Record<string, unknown> {
  return { 'editor.wordWrap': 'off', '[markdown]': { 'editor.wordWrap': 'off' }, ...options.settings };
}

const profileDir = (scratch: string) => join(scratch, 'chromium-profile');

function launchBrowser(scratch: string, options: WorkbenchOptions): Promise<BrowserContext> {
  return chromium.launchPersistentContext(profileDir(scratch), {
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: [...(options.webgpu ? [...new Set([...BASE_ARGS, ...CHROMIUM_WEBGPU_ARGS.filter((a) => a !== '--headless=new')])] : [...BASE_ARGS, '--disable-gpu']), ...(options.browserArgs ?? [])],
    viewport: options.viewport ?? { width: 1600, height: 1000 },
  });
}

async function firstPage(context: BrowserContext): Promise<Page> {
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(UI_TIMEOUT);
  return page;
}

/**
 * Exports the panel's attention (L, H, T, T) through its .npy button and VS Code's save dialog, at the
 * dialog's default place (the workspace folder, a scratch copy); returns the file's path.
 */
export async function exportNpy(wb: Workbench, panel: FrameLocator): Promise<string> {
  const path = join(wb.workspace, 'attention.npy');
  rmSync(path, { force: true });
  await panel.getByTitle('Export all attention maps (L, H, T, T) as NumPy .npy').click();
  // code-server's save dialog is a quick input holding the path, with an OK button. Typing into it
  // races its completion, so the default path is taken as it is, once it is there.
  const input = wb.page.locator('.quick-input-widget input');
  await input.waitFor();
  await wb.page.waitForFunction((p) => document.querySelector<HTMLInputElement>('.quick-input-widget input')?.value === p, path, { timeout: UI_TIMEOUT });
  await wb.page.locator('.quick-input-widget .monaco-button', { hasText: 'OK' }).click();
  await panel.locator('.status', { hasText: 'Saved' }).waitFor();
  if (!existsSync(path)) throw new Error(`the export did not write ${path}`);
  return path;
}

/** A test that, when it fails, leaves a screenshot and the logs in test-results/e2e/. */
export function e2eTest(name: string, workbench: () => Workbench | undefined, fn: (t: TestContext) => Promise<void>, timeoutMs = 300_000): void {
  test(name, { timeout: timeoutMs }, async (t) => {
    try {
      await fn(t);
    } catch (e) {
      await workbench()?.saveFailure(name);
      throw e;
    }
  });
}

function position(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset).split('\n');
  return { line: before.length, column: before[before.length - 1].length + 1 };
}

function cssString(s: string): string {
  return s.replace(/["\\]/g, '\\$&');
}
