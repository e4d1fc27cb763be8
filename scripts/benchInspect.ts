/**
 * `npm run bench:inspect`: time from the Inspect Attention command to the first heatmap for a
 * 200-token selection on the embedded model, in code-server + headless Chromium on this machine.
 * Cold = the first inspection after VS Code starts (the panel loads ORT's wasm and the model), twice:
 * on a new browser profile (VS Code's webview service worker not yet installed, nothing cached), and
 * after quitting code-server and Chromium and starting both again on the same profile and user data, as
 * a user's VS Code starts; warm = the inspections after the first in the same panel. A benchmark, not a test: it prints figures and writes
 * test-results/bench-inspect.json.
 *
 * Two clocks: the panel's own mark (`data-first-heatmap-ms`: host's command time → large heatmap
 * drawn), and the driver's (Enter in the palette → that mark visible to Playwright, which adds the
 * palette's and the polling's latency). Options: `--tokens N` (200), `--warm N` (5 warm runs), `--webgpu`,
 * `--settle S` (10: seconds between the restarted VS Code showing the file and the command).
 *
 * `--huge-mb M` benchmarks a huge selection instead (scripts/benchInspectHuge.ts): a one-line file of
 * M million characters, all of it selected, against a small selection of the same tokens, with the
 * extension host's hover latency measured while each runs.
 *
 * `--model DIR [--tokens N]` benchmarks a model folder of any size instead (scripts/benchModelFolder.ts):
 * downloaded from the hub stand-in, N tokens (1,024) of a long file; weights' load, cold and warm first
 * heatmap, renderer memory, and the ways the weights could reach the page timed side by side.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { loadModelFolderFromDisk } from '../node/folderReader.js';
import { Workbench } from '../test/e2e/harness.js';
import { benchHugeSelection } from './benchInspectHuge.js';
import { benchModelFolder } from './benchModelFolder.js';
import { inspectOnce, median, option, type TimedRun } from './inspectRun.js';
import { REPO_ROOT } from './vscodeServer.js';

type Run = TimedRun<'cold, new profile' | 'cold, after restart' | 'warm'>;

async function main(): Promise<void> {
  const huge = option('--huge-mb', 0);
  if (huge > 0) return benchHugeSelection(huge);
  const modelDir = process.argv.indexOf('--model');
  if (modelDir > 0) return benchModelFolder(process.argv[modelDir + 1] ?? '');
  const wanted = option('--tokens', 200);
  const warmRuns = option('--warm', 5);
  const webgpu = process.argv.includes('--webgpu');
  const settleS = option('--settle', 10);
  const file = 'attention.ts';
  const text = readFileSync(join(REPO_ROOT, 'samples', file), 'utf8');
  const model = await loadModelFolderFromDisk(join(REPO_ROOT, 'media', 'models', 'tinycode-4l8h-1k'));
  const tokens = model.tokenizer.encode(text);
  if (tokens.length < wanted) throw new Error(`samples/${file} has only ${tokens.length} tokens`);
  const selection = text.slice(0, tokens[wanted - 1]!.end);
  const count = model.tokenizer.encode(selection).length;
  const select = async () => {
    await wb.focusEditor();
    await wb.selectText(selection);
  };

  console.log(`starting code-server and Chromium (${webgpu ? 'WebGPU on SwiftShader' : 'GPU off: wasm'})…`);
  const wb = await Workbench.start('bench-inspect', { webgpu });
  const runs: Run[] = [];
  try {
    await wb.quickOpen(file);
    runs.push(await inspectOnce(wb, 1, 'cold, new profile', select));
    await wb.screenshot('bench-inspect-cold');
    for (let i = 1; i <= warmRuns; i++) runs.push(await inspectOnce(wb, i + 1, 'warm', select));
    await wb.waitForLog(new RegExp(`inspection ${warmRuns + 1}: ran`));
    // VS Code quit and started again. The panel is closed first so that it is not restored, and the
    // window reloaded so that the workbench has saved that (the web workbench may not, while it quits).
    await wb.runCommand('View: Close All Editor Groups');
    await wb.reloadWindow();
    await wb.restart();
    await wb.quickOpen(file);
    // A user selects text for a while after VS Code opens; --settle lets its own start-up (the TypeScript
    // server for the .ts sample, extension activations) finish first, so that the time measured is ours.
    await new Promise((r) => setTimeout(r, settleS * 1000));
    runs.push(await inspectOnce(wb, 1, 'cold, after restart', select));
    const log = await wb.waitForLog(/inspection 1: ran[^\n]*\n[^]*inspection 1: ran/);
    const ran = [...log.matchAll(/inspection \d+: ran .*/g)].map((m) => m[0]);
    const warm = runs.filter((r) => r.kind === 'warm');
    const cold = (kind: Run['kind']) => runs.find((r) => r.kind === kind)!;
    const report = {
      date: new Date().toISOString(),
      machine: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}`,
      browser: webgpu ? 'Chromium, WebGPU on SwiftShader' : 'Chromium --disable-gpu (wasm)',
      model: 'tinycode-4l8h-1k (embedded)',
      tokens: count,
      coldNewProfile: cold('cold, new profile'),
      coldAfterRestart: { ...cold('cold, after restart'), settledSeconds: settleS },
      warmPanelMs: { second: warm[0]?.panelMs, median: warm.length ? median(warm.map((r) => r.panelMs)) : undefined },
      warmDriverMs: { second: warm[0]?.driverMs, median: warm.length ? median(warm.map((r) => r.driverMs)) : undefined },
      runs,
      extensionLog: ran,
    };
    mkdirSync(join(REPO_ROOT, 'test-results'), { recursive: true });
    writeFileSync(join(REPO_ROOT, 'test-results', 'bench-inspect.json'), JSON.stringify(report, null, 1) + '\n');
    console.log(ran.join('\n'));
    console.log(
      `\n${count} tokens, ${report.browser}: cold on a new browser profile ${report.coldNewProfile.panelMs} ms ` +
        `(driver ${report.coldNewProfile.driverMs} ms), cold after a restart (${settleS} s settled) ${report.coldAfterRestart.panelMs} ms ` +
        `(driver ${report.coldAfterRestart.driverMs} ms); warm second run ${report.warmPanelMs.second} ms, ` +
        `median of ${warm.length} ${report.warmPanelMs.median} ms (driver ${report.warmDriverMs.median} ms)`,
    );
  } catch (e) {
    await wb.saveFailure('bench-inspect');
    throw e;
  } finally {
    await wb.close();
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
