/**
 * `npm run bench:inspect`: time from the Inspect Attention command to the first heatmap for a
 * 200-token selection on the embedded model, in code-server + headless Chromium on this machine.
 * Cold = the first inspection after VS Code starts (the panel loads ORT's wasm and the model);
 * warm = the inspections after it in the same panel. A benchmark, not a test: it prints figures and
 * writes test-results/bench-inspect.json.
 *
 * Two clocks: the panel's own mark (`data-first-heatmap-ms`: host's command time → large heatmap
 * drawn), and the driver's (Enter in the palette → that mark visible to Playwright, which adds the
 * palette's and the polling's latency). Options: `--tokens N` (200), `--warm N` (5 warm runs), `--webgpu`.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { loadModelFolderFromDisk } from '../kernels/model/nodeReader.js';
import { Workbench } from '../test/e2e/harness.js';
import { REPO_ROOT } from './vscodeServer.js';

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

interface Run {
  kind: 'cold' | 'warm';
  panelMs: number;
  driverMs: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;

async function main(): Promise<void> {
  const wanted = option('--tokens', 200);
  const warmRuns = option('--warm', 5);
  const webgpu = process.argv.includes('--webgpu');
  const file = 'attention.ts';
  const text = readFileSync(join(REPO_ROOT, 'samples', file), 'utf8');
  const model = await loadModelFolderFromDisk(join(REPO_ROOT, 'media', 'models', 'tinycode-4l8h-1k'));
  const tokens = model.tokenizer.encode(text);
  if (tokens.length < wanted) throw new Error(`samples/${file} has only ${tokens.length} tokens`);
  const selection = text.slice(0, tokens[wanted - 1]!.end);
  const count = model.tokenizer.encode(selection).length;

  console.log(`starting code-server and Chromium (${webgpu ? 'WebGPU on SwiftShader' : 'GPU off: wasm'})…`);
  const wb = await Workbench.start('bench-inspect', { webgpu });
  const runs: Run[] = [];
  try {
    await wb.quickOpen(file);
    await wb.selectText(selection);
    for (let i = 0; i <= warmRuns; i++) {
      const at = await wb.runCommand('Inspect Attention');
      const panel = await wb.webview('Attention Inspector');
      const body = panel.locator(`body[data-inspected="${i + 1}"]`);
      await body.waitFor({ timeout: 300_000 });
      const driverMs = Date.now() - at;
      const panelMs = Number(await body.getAttribute('data-first-heatmap-ms'));
      runs.push({ kind: i === 0 ? 'cold' : 'warm', panelMs, driverMs });
      console.log(`${i === 0 ? 'cold' : `warm ${i}`}: panel ${panelMs} ms, driver ${driverMs} ms`);
      if (i === 0) await wb.screenshot('bench-inspect-cold');
      await wb.focusEditor();
      await wb.selectText(selection);
    }
    const log = wb.extensionLogs();
    const ran = [...log.matchAll(/inspection \d+: ran .*/g)].map((m) => m[0]);
    const warm = runs.filter((r) => r.kind === 'warm');
    const report = {
      date: new Date().toISOString(),
      machine: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}`,
      browser: webgpu ? 'Chromium, WebGPU on SwiftShader' : 'Chromium --disable-gpu (wasm)',
      model: 'tinycode-4l8h-1k (embedded)',
      tokens: count,
      coldPanelMs: runs[0]!.panelMs,
      coldDriverMs: runs[0]!.driverMs,
      warmPanelMs: { second: warm[0]?.panelMs, median: warm.length ? median(warm.map((r) => r.panelMs)) : undefined },
      warmDriverMs: { second: warm[0]?.driverMs, median: warm.length ? median(warm.map((r) => r.driverMs)) : undefined },
      runs,
      extensionLog: ran,
    };
    mkdirSync(join(REPO_ROOT, 'test-results'), { recursive: true });
    writeFileSync(join(REPO_ROOT, 'test-results', 'bench-inspect.json'), JSON.stringify(report, null, 1) + '\n');
    console.log(ran.join('\n'));
    console.log(
      `\n${count} tokens, ${report.browser}: cold ${report.coldPanelMs} ms (driver ${report.coldDriverMs} ms); ` +
        `warm second run ${report.warmPanelMs.second} ms, median of ${warm.length} ${report.warmPanelMs.median} ms (driver ${report.warmDriverMs.median} ms)`,
    );
  } finally {
    await wb.close();
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
