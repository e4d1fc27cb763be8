/**
 * The benchmark view's HTML, shared by the VS Code view (src/benchmarkView.ts) and the standalone page
 * the CLI and browser tests serve (page shell and CSP in webviewHtml.ts).
 */
import { webviewPage, type WebviewPageOptions } from './webviewHtml.js';

export interface BenchmarkHtmlOptions extends WebviewPageOptions {
  /** Folder holding onnxruntime-web's .wasm/.mjs files, ending in '/'. */
  ortBase: string;
}

export function benchmarkHtml(o: BenchmarkHtmlOptions): string {
  return webviewPage({
    ...o,
    title: 'Attention benchmark',
    bodyAttributes: { 'data-ort-base': o.ortBase },
    body: `<main id="app" aria-label="Attention benchmark">
  <form id="settings" aria-label="Benchmark settings">
    <fieldset><legend>Kernels</legend>
      <label><input type="checkbox" name="kernel" value="ours" checked> ours (WGSL flash)</label>
      <label><input type="checkbox" name="kernel" value="manual" checked> manual (ONNX)</label>
      <label><input type="checkbox" name="kernel" value="ort-fused" checked> ort-fused</label>
    </fieldset>
    <fieldset><legend>Backends</legend>
      <label><input type="checkbox" name="backend" value="webgpu" checked> WebGPU</label>
      <label><input type="checkbox" name="backend" value="wasm" checked> wasm (CPU)</label>
    </fieldset>
    <fieldset><legend>Precision</legend>
      <label><input type="checkbox" name="precision" value="fp32" checked> fp32</label>
      <label><input type="checkbox" name="precision" value="fp16"> fp16</label>
    </fieldset>
    <label>Sequence lengths <input name="seqLens" value="64,256" aria-describedby="grid-help"></label>
    <label>Heads <input name="heads" value="8"></label>
    <label title="1: multi-head attention; 4 with 8 heads: grouped-query attention, 8 query heads sharing 2 key/value heads (Llama 3's grouping). Each head count must be a multiple of each.">Query heads per K/V head <input name="queriesPerKv" value="1,4"></label>
    <label>Batch <input name="batches" value="1"></label>
    <label>Head size <input name="headDim" value="64" inputmode="numeric"></label>
    <label><input type="checkbox" name="causal" checked> causal</label>
    <label><input type="checkbox" name="interleave" checked> time kernels in alternation (fair ratios under load)</label>
    <label title="Tuned: every tile configuration that fits the adapter is timed and the fastest that agrees is used. Auto tunes on a GPU and takes the first that fits on a CPU fallback, where each trial costs seconds.">Tiles for ours <select name="tileChoice">
      <option value="auto" selected>auto (tuned on a GPU)</option>
      <option value="tune">tuned</option>
      <option value="first-fit">first that fits</option>
    </select></label>
    <label>Time budget per case (ms) <input name="budgetMs" value="300" inputmode="numeric"></label>
    <p id="grid-help" class="help">Comma-separated lists. <button type="button" id="full-grid">Full grid</button> <button type="button" id="quick-grid">Quick grid</button></p>
    <div class="actions">
      <button type="submit" id="run">Run benchmark</button>
      <button type="button" id="cancel" disabled>Cancel</button>
    </div>
  </form>
  <div id="progress-row" hidden>
    <progress id="progress" max="1" value="0" aria-label="Benchmark progress"></progress>
    <span id="status" role="status" aria-live="polite"></span>
  </div>
  <section aria-label="Adapter"><h2>Adapter</h2><dl id="adapter"></dl></section>
  <section aria-label="Results">
    <h2>Results</h2>
    <div class="actions">
      <button type="button" data-export="csv" disabled>Export CSV</button>
      <button type="button" data-export="json" disabled>Export JSON</button>
      <button type="button" data-export="png" disabled>Export PNG</button>
    </div>
    <div class="table-wrap" tabindex="0" role="region" aria-label="Benchmark results, scrolls sideways"><table id="results" aria-label="Benchmark results"><thead></thead><tbody></tbody></table></div>
    <p id="ratios" role="note"></p>
    <div id="tile-trials"></div>
    <canvas id="plot" width="640" height="400" role="img" aria-label="Time against sequence length, log-log"></canvas>
  </section>
</main>`,
  });
}
