/**
 * `npm run bench:inspect -- --huge-mb M`: a huge selection in code-server + headless Chromium. A one-line
 * file of M million characters (minified-JS-like, scripts/hugeText.ts) is opened and all of it selected
 * (Ctrl+A); Inspect Attention keeps its first maxTokens tokens (by default the model's context, 1,024, as the budget allows) and says so in a notice.
 * Compared with a small selection of the same file that holds those same tokens, warm (the same panel
 * again, after a cold first run), each kind `--runs N` times (3). The extension host's responsiveness:
 * while each inspection runs (Enter → first heatmap seen), hovers over an inspected token are timed back
 * to back (scripts/hoverProbe.ts: mouse moved → our hover shown, answered by our provider in the
 * extension host), against the same rounds while nothing runs. A benchmark, not a test: it prints figures
 * (with the load average: the machine may be shared) and writes test-results/bench-inspect-huge.json.
 */
import { defaultMaxTokens } from '../src/memoryBudget.js';
import { storedDtypeOfSize } from '../kernels/inspect/memoryEstimate.js';
import type { DecoderConfig } from '../kernels/model/decoder.js';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModelFolderFromDisk } from '../node/folderReader.js';
import { tokenLimit } from '../src/inspectSelection.js';
import { Workbench } from '../test/e2e/harness.js';
import { HoverProbe } from './hoverProbe.js';
import { minifiedLine } from './hugeText.js';
import { inspectOnce, median, option, type TimedRun } from './inspectRun.js';
import { REPO_ROOT } from './vscodeServer.js';

/** Lower than VS Code's 300 ms default, so that a round is mostly the host's answer, not the wait before asking. */
const HOVER_DELAY_MS = 100;
const IDLE_ROUNDS = 15;
const FILE = 'huge.txt';

type Kind = 'small, cold' | 'small, warm' | 'huge, warm';

/**
 * maxTokens as a user who never set it gets it (src/memoryBudget.ts): the model's context unless the
 * default memory budget allows fewer (the embedded model fits its whole context).
 */
function maxTokensDefault(config: DecoderConfig): number {
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { contributes: { configuration: { properties: Record<string, { default: number }> } } };
  const budgetMB = pkg.contributes.configuration.properties['attentionInspector.memoryBudgetMB']!.default;
  const bytes = readFileSync(join(REPO_ROOT, 'media', 'models', 'tinycode-4l8h-1k', 'model.safetensors')).length;
  return defaultMaxTokens({ config, stored: storedDtypeOfSize(config, bytes) }, 'auto', budgetMB);
}

const summary = (xs: number[]) => ({ rounds: xs.length, medianMs: xs.length ? median(xs) : undefined, maxMs: xs.length ? Math.max(...xs) : undefined });

export async function benchHugeSelection(megabytes: number): Promise<void> {
  const runsPerKind = option('--runs', 3);
  const chars = Math.round(megabytes * 1e6);
  const text = minifiedLine(chars);
  const model = await loadModelFolderFromDisk(join(REPO_ROOT, 'media', 'models', 'tinycode-4l8h-1k'));
  const limit = tokenLimit(maxTokensDefault(model.config), model.config.nPositions);
  const smallChars = model.tokenizer.encode(text.slice(0, limit * 16))[limit - 1]!.end;
  const smallTokens = model.tokenizer.encode(text.slice(0, smallChars)).length;

  const dir = mkdtempSync(join(tmpdir(), 'bench-inspect-huge-'));
  writeFileSync(join(dir, FILE), text);
  console.log(`starting code-server and Chromium on a ${megabytes} MB one-line ${FILE}…`);
  // The web workbench asks before opening a file over 10 MB ("Open Anyway"); the setting is that answer.
  const settings = { 'editor.hover.delay': HOVER_DELAY_MS, 'workbench.editorLargeFileConfirmation': Math.ceil(megabytes) + 1 };
  const wb = await Workbench.start('bench-inspect-huge', { workspace: dir, settings });
  const selected = (n: number) => wb.page.locator('#status\\.editor\\.selection').filter({ hasText: new RegExp(`\\(${n.toLocaleString('en-US').replace(/,/g, ',?')} selected\\)`) }).waitFor();
  // From the end of the small selection back to the line's start, so that the editor shows the start.
  const selectSmall = async () => {
    await wb.goTo(1, smallChars + 1);
    await wb.page.keyboard.press('Shift+Home');
    await selected(smallChars);
  };
  // Ctrl+A as a user does; the editor may scroll to the selection's end, so it is scrolled back (the
  // wheel leaves the selection as it is) to where the probe's token is.
  const selectAll = async () => {
    await wb.focusEditor();
    await wb.page.keyboard.press('Control+a');
    await selected(chars);
    await wb.page.mouse.wheel(-1e9, 0);
  };
  const loadBefore = loadavg();
  const runs: TimedRun<Kind>[] = [];
  let n = 0;
  try {
    // The palette opens over the top middle of the window, where line 1 would be, and the probe's mouse
    // moves must reach the editor while it is open: the side bar is closed to bring line 1's start left.
    await wb.runCommand('View: Close Primary Side Bar');
    await wb.quickOpen(FILE);
    runs.push(await inspectOnce(wb, ++n, 'small, cold', selectSmall));
    await wb.goTo(1, 10);
    const cursor = (await wb.activeEditor().locator('.cursors-layer .cursor').first().boundingBox())!;
    const editor = (await wb.activeEditor().boundingBox())!;
    const probe = new HoverProbe(wb.page, { x: cursor.x + 4, y: cursor.y + cursor.height / 2 }, { x: editor.x + editor.width / 2, y: editor.y + editor.height - 40 });
    await wb.page.mouse.move(editor.x + editor.width / 2, editor.y + editor.height / 2);
    await probe.round();
    const idle: number[] = [];
    for (let i = 0; i < IDLE_ROUNDS; i++) {
      const r = await probe.round();
      idle.push(r.endMs - r.startMs);
    }
    console.log(`idle hovers: ${idle.join(', ')} ms`);
    for (let i = 0; i < runsPerKind; i++) runs.push(await inspectOnce(wb, ++n, 'small, warm', selectSmall, probe));
    let notice = '';
    for (let i = 0; i < runsPerKind; i++) {
      runs.push(await inspectOnce(wb, ++n, 'huge, warm', selectAll, probe));
      notice = (await (await wb.webview('Attention Inspector')).locator('.notices li', { hasText: 'Truncated' }).innerText()).trim();
    }
    await wb.screenshot('bench-inspect-huge');
    const log = await wb.waitForLog(new RegExp(`inspection ${n}: ran`));
    const hostTokenizing = (kind: Kind) =>
      runs.flatMap((r, i) => (r.kind === kind ? [Number(log.match(new RegExp(`inspection ${i + 1}: .*host tokenizing ([\\d.]+) ms`))?.[1])] : []));
    const of = (kind: Kind) => {
      const rs = runs.filter((r) => r.kind === kind);
      return { panelMs: rs.map((r) => r.panelMs), driverMs: rs.map((r) => r.driverMs), hostTokenizingMs: hostTokenizing(kind), hovers: summary(rs.flatMap((r) => r.hoverMs ?? [])) };
    };
    const report = {
      date: new Date().toISOString(),
      machine: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}`,
      loadAverageBefore: loadBefore,
      loadAverageAfter: loadavg(),
      browser: 'Chromium --disable-gpu (wasm)',
      model: 'tinycode-4l8h-1k (embedded)',
      file: { characters: chars, lines: 1 },
      small: { characters: smallChars, tokens: smallTokens },
      hoverDelayMs: HOVER_DELAY_MS,
      notice,
      idleHovers: summary(idle),
      smallWarm: of('small, warm'),
      hugeWarm: of('huge, warm'),
      smallCold: of('small, cold'),
      runs,
      extensionLog: [...log.matchAll(/inspection \d+: .*/g)].map((m) => m[0]),
    };
    mkdirSync(join(REPO_ROOT, 'test-results'), { recursive: true });
    writeFileSync(join(REPO_ROOT, 'test-results', 'bench-inspect-huge.json'), JSON.stringify(report, null, 1) + '\n');
    console.log(report.extensionLog.join('\n'));
    const line = (name: string, k: ReturnType<typeof of>) =>
      `${name}: first heatmap ${k.panelMs.join(', ')} ms (driver ${k.driverMs.join(', ')}), host tokenizing ${k.hostTokenizingMs.join(', ')} ms; ` +
      `hovers meanwhile median ${k.hovers.medianMs} ms, max ${k.hovers.maxMs} ms (${k.hovers.rounds} rounds)`;
    console.log(`\n${megabytes} MB one line, all selected; notice: ${notice}`);
    console.log(line(`small (${smallChars} characters, ${smallTokens} tokens), warm`, report.smallWarm));
    console.log(line(`huge (${chars} characters), warm`, report.hugeWarm));
    console.log(`idle hovers: median ${report.idleHovers.medianMs} ms, max ${report.idleHovers.maxMs} ms (${IDLE_ROUNDS} rounds, hover delay ${HOVER_DELAY_MS} ms)`);
    console.log(`load average ${loadBefore.map((x) => x.toFixed(2)).join(' ')} before, ${report.loadAverageAfter.map((x) => x.toFixed(2)).join(' ')} after`);
  } catch (e) {
    await wb.saveFailure('bench-inspect-huge');
    throw e;
  } finally {
    await wb.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
