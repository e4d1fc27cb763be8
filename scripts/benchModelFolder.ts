/**
 * `npm run bench:inspect -- --model DIR --tokens N`: a model folder of any size as a user meets it in
 * code-server + headless Chromium (wasm). DIR is served by the hub stand-in and downloaded with
 * Download Model…, set active; a long file (samples/attention.ts repeated past N tokens of DIR's
 * tokenizer) is all selected (Ctrl+A) with `attentionInspector.maxTokens` = N, and inspected: cold (the
 * panel loads the weights), then `--warm K` times (2) in the same panel. Figures: the weights' load
 * (the panel's own `weights … loaded` line), command → first heatmap cold and warm, and the peak resident
 * memory of the largest renderer process (the webview's) and of all of Chromium. Then the last layer is
 * chosen in the grid and the time until its shape trace shows is taken; then, for each other
 * `attentionInspector.weightsTransport`, the panel is closed and one cold inspection run, so all the
 * product's ways are timed in one run (`--weights server|messages|resources` picks the first, default
 * server; `--one-way`: that one only). `--budget MB`
 * sets `attentionInspector.memoryBudgetMB` (for a model the default budget refuses at N tokens).
 *
 * Then the ways the weights could reach the page, timed on DIR's weights file in a loaded page with nothing
 * else running (`--no-probe` skips): range requests of 32 MiB read one after another from the host's
 * model file server (in the first panel, before it closes, when the first way is `server`) and, in the
 * last panel (by webview URI), one whole fetch (how the panel read them before) and ranges of 8, 32 and
 * 128 MiB; in each, a 1 MiB read of `config.json` is asked half a second after the weights began, and its
 * latency says what a small file waits behind the large one. A benchmark, not
 * a test: it prints figures and writes test-results/bench-inspect-model.json.
 */
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { basename, join } from 'node:path';
import type { Frame } from 'playwright-core';
import { loadFolderTokenizer } from '../kernels/model/modelFolder.js';
import type { WeightsTransport } from '../protocol/inspector.js';
import { nodeFolderReader } from '../node/folderReader.js';
import { startHubServer } from '../test/fixtures/hubServer.js';
import { Workbench } from '../test/e2e/harness.js';
import { downloadModel, setActiveModel } from '../test/e2e/modelsView.js';
import { watchBrowserMemory } from './browserMemory.js';
import { inspectOnce, median, option, type TimedRun } from './inspectRun.js';
import { REPO_ROOT } from './vscodeServer.js';

const REPO = 'bench/model';
// Resources last: the probes below read by webview URI in the page of the last run.
const WAYS: readonly WeightsTransport[] = ['server', 'messages', 'resources'];
const TIMEOUT = 600_000;

interface ProbeRun {
  way: string;
  ms: number;
  mbPerS: number;
  smallFileMs: number;
}

/** The page of the inspector panel: the frame that holds its head grid. */
async function panelFrame(wb: Workbench): Promise<Frame> {
  for (const f of wb.page.frames()) {
    if (await f.evaluate(() => !!document.querySelector('.head-grid')).catch(() => false)) return f;
  }
  throw new Error('no inspector panel page');
}

/** Reads the weights file in the page by `chunk`-byte ranges (0: one whole fetch), a small file asked meanwhile. */
function probe(frame: Frame, chunk: number): Promise<{ ms: number; bytes: number; smallFileMs: number }> {
  return frame.evaluate(async (chunk) => {
    const url = performance.getEntriesByType('resource').map((e) => e.name).find((n) => n.includes('/model.safetensors'));
    if (!url) throw new Error('the page never fetched model.safetensors');
    const config = url.replace('/model.safetensors', '/config.json');
    const began = performance.now();
    const small = new Promise<number>((resolve) =>
      setTimeout(async () => {
        const t = performance.now();
        await (await fetch(config, { headers: { Range: 'bytes=0-1048575' } })).arrayBuffer();
        resolve(performance.now() - t);
      }, 500),
    );
    let bytes = 0;
    if (chunk === 0) bytes = (await (await fetch(url)).arrayBuffer()).byteLength;
    else {
      for (let total = Infinity; bytes < total; ) {
        const r = await fetch(url, { headers: { Range: `bytes=${bytes}-${bytes + chunk - 1}` } });
        total = Number(r.headers.get('content-range')!.split('/')[1]);
        bytes += (await r.arrayBuffer()).byteLength;
      }
    }
    return { ms: performance.now() - began, bytes, smallFileMs: await small };
  }, chunk);
}

export async function benchModelFolder(dir: string): Promise<void> {
  const tokens = option('--tokens', 1024);
  const warmRuns = option('--warm', 2);
  const budgetMB = option('--budget', 0);
  const asked = process.argv.includes('--weights') ? process.argv[process.argv.indexOf('--weights') + 1] : undefined;
  const first = WAYS.find((w) => w === asked) ?? 'server';
  const others = process.argv.includes('--one-way') ? [] : WAYS.filter((w) => w !== first);
  const files = new Map<string, Uint8Array>();
  for (const f of readdirSync(dir)) if (statSync(join(dir, f)).isFile()) files.set(f, readFileSync(join(dir, f)));
  const weightsMB = Math.round((files.get('model.safetensors')?.length ?? 0) / 1e6);
  const { tokenizer } = await loadFolderTokenizer(nodeFolderReader(dir));
  const code = readFileSync(join(REPO_ROOT, 'samples', 'attention.ts'), 'utf8');
  let text = code;
  while (tokenizer.encode(text).length < tokens) text += code;

  const hub = await startHubServer({ [REPO]: { files } });
  console.log(`starting code-server and Chromium (wasm); ${basename(dir)}: ${weightsMB} MB of weights, ${tokens} tokens…`);
  const wb = await Workbench.start('bench-inspect-model', {
    settings: {
      'attentionInspector.modelMirror': hub.baseUrl,
      'attentionInspector.confirmDownloadAboveMB': 100_000,
      'attentionInspector.maxTokens': tokens,
      'attentionInspector.weightsTransport': first,
      ...(budgetMB > 0 ? { 'attentionInspector.memoryBudgetMB': budgetMB } : {}),
    },
  });
  const memory = watchBrowserMemory(wb.profileDir);
  try {
    writeFileSync(join(wb.workspace, 'long.ts'), text);
    const downloadStart = Date.now();
    await downloadModel(wb, REPO, TIMEOUT);
    const downloadMs = Date.now() - downloadStart;
    await setActiveModel(wb, REPO);
    await wb.quickOpen('long.ts');
    const select = async () => {
      await wb.focusEditor();
      await wb.page.keyboard.press('Control+A');
    };
    memory.reset();
    const runs: TimedRun<'cold' | 'warm'>[] = [await inspectOnce(wb, 1, 'cold', select, undefined, TIMEOUT)];
    const coldMemory = memory.peak();
    for (let i = 1; i <= warmRuns; i++) runs.push(await inspectOnce(wb, i + 1, 'warm', select, undefined, TIMEOUT));
    await wb.waitForLog(new RegExp(`inspection ${warmRuns + 1}: ran`));
    const inspectMemory = memory.peak();
    // Another layer chosen: its shape trace comes from that layer's trace graph on the kept layer input.
    const config = JSON.parse(new TextDecoder().decode(files.get('config.json'))) as { n_layer?: number; num_hidden_layers?: number };
    const lastLayer = (config.n_layer ?? config.num_hidden_layers ?? 1) - 1;
    const panel = await panelFrame(wb);
    const cell = panel.locator(`.head-grid .cell[data-layer="${lastLayer}"][data-head="0"]`);
    await cell.waitFor({ timeout: TIMEOUT });
    const traceStart = Date.now();
    await cell.click();
    await panel.locator('.trace-table caption', { hasText: `Layer ${lastLayer},` }).waitFor({ timeout: TIMEOUT });
    const retraceMs = Date.now() - traceStart;
    const retraceMemory = memory.peak();
    const loadedLines = () => [...wb.extensionLogs().matchAll(/weights of \S+ loaded: (\d+) MB in ([\d.]+) s \(([\d.]+) MB\/s\)/g)];
    const loaded = loadedLines()[0];
    const probing = !process.argv.includes('--no-probe');
    const ways: ProbeRun[] = [];
    const probeWays = async (frame: Frame, runs: readonly (readonly [string, number])[]) => {
      for (const [way, chunk] of runs) {
        const r = await probe(frame, chunk);
        ways.push({ way, ms: Math.round(r.ms), mbPerS: Math.round((r.bytes / 1e3 / r.ms) * 10) / 10, smallFileMs: Math.round(r.smallFileMs) });
        console.log(`${way}: ${(r.ms / 1000).toFixed(1)} s (${ways.at(-1)!.mbPerS} MB/s); config.json asked meanwhile took ${Math.round(r.smallFileMs)} ms`);
      }
    };
    if (probing && first === 'server') await probeWays(panel, [['model file server, ranges of 32 MiB', 32 << 20], ['model file server, ranges of 32 MiB, again', 32 << 20]]);
    // The other ways, cold: each in a new panel (its page loads the model again).
    const otherRuns: { weightsTransport: WeightsTransport; coldMs: number; weightsLoad?: { seconds: number; mbPerS: number } }[] = [];
    for (const [i, way] of others.entries()) {
      await wb.runCommand('View: Close All Editor Groups');
      await wb.updateSettings({ 'attentionInspector.weightsTransport': way });
      await wb.quickOpen('long.ts');
      const run = await inspectOnce(wb, warmRuns + 2 + i, 'cold', select, undefined, TIMEOUT);
      await wb.waitForLog(new RegExp(`inspection ${warmRuns + 2 + i}: ran`));
      const line = loadedLines()[1 + i];
      otherRuns.push({ weightsTransport: way, coldMs: run.panelMs, weightsLoad: line ? { seconds: Number(line[2]), mbPerS: Number(line[3]) } : undefined });
    }
    if (probing && others.at(-1) === 'resources') {
      await probeWays(await panelFrame(wb), [
        ['webview URI, one whole fetch', 0],
        ['webview URI, ranges of 8 MiB', 8 << 20],
        ['webview URI, ranges of 32 MiB', 32 << 20],
        ['webview URI, ranges of 128 MiB', 128 << 20],
        ['webview URI, ranges of 32 MiB, again', 32 << 20],
      ]);
    }
    const warm = runs.filter((r) => r.kind === 'warm').map((r) => r.panelMs);
    const report = {
      date: new Date().toISOString(),
      machine: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}`,
      loadAverage: loadavg().map((l) => Math.round(l * 10) / 10),
      browser: 'Chromium --disable-gpu (wasm)',
      model: basename(dir),
      weightsMB,
      tokens,
      downloadMs,
      weightsTransport: first,
      weightsLoad: loaded ? { mb: Number(loaded[1]), seconds: Number(loaded[2]), mbPerS: Number(loaded[3]) } : undefined,
      others: otherRuns,
      coldMs: runs[0]!.panelMs,
      warmMs: warm.length ? median(warm) : undefined,
      runs,
      retraceMs,
      peakMemoryMB: { coldInspection: coldMemory, allInspections: inspectMemory, afterRetrace: retraceMemory, afterProbes: memory.stop() },
      ways,
      extensionLog: [...wb.extensionLogs().matchAll(/(inspection \d+: ran|weights of) .*/g)].map((m) => m[0]),
    };
    mkdirSync(join(REPO_ROOT, 'test-results'), { recursive: true });
    writeFileSync(join(REPO_ROOT, 'test-results', 'bench-inspect-model.json'), JSON.stringify(report, null, 1) + '\n');
    console.log(report.extensionLog.join('\n'));
    console.log(
      `\n${report.model}, ${tokens} tokens (load average ${report.loadAverage.join(' ')}): download ${(downloadMs / 1000).toFixed(1)} s; ` +
        otherRuns.map((o) => `${o.weightsTransport}: weights loaded in ${o.weightsLoad?.seconds ?? '?'} s (${o.weightsLoad?.mbPerS ?? '?'} MB/s), cold ${o.coldMs} ms; `).join('') +
        `${first}: ` +
        `weights loaded in ${report.weightsLoad?.seconds ?? '?'} s (${report.weightsLoad?.mbPerS ?? '?'} MB/s); command → first heatmap cold ${report.coldMs} ms, ` +
        `warm ${report.warmMs} ms (median of ${warm.length}); peak renderer ${inspectMemory.rendererMB} MB, all of Chromium ${inspectMemory.totalMB} MB; ` +
        `layer ${lastLayer} chosen → its trace ${retraceMs} ms, peak renderer then ${retraceMemory.rendererMB} MB`,
    );
  } catch (e) {
    await wb.saveFailure('bench-inspect-model');
    throw e;
  } finally {
    memory.stop();
    await wb.close();
    await hub.close();
  }
}
