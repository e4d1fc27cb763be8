/// <reference types="@webgpu/types" />
/** The Benchmark view: settings form, run with progress and cancel, table, plot, adapter facts, exports. */
import { toCsv, toJson } from '../../kernels/bench/export.js';
import { checkGrouping, FULL_SETTINGS, parseNumberList, parseTileChoice, QUICK_SETTINGS, SettingsError } from '../../kernels/bench/grid.js';
import { runBenchmark } from '../../kernels/bench/runBenchmark.js';
import { headsLabel, rowCells, speedups, TABLE_HEADERS, trialsTable } from '../../kernels/bench/table.js';
import type { BenchReport, BenchSettings } from '../../kernels/bench/types.js';
import { benchEnvironment } from './environment.js';
import { announceReady, inVsCode, post, save } from './host.js';
import { drawPlot } from './plot.js';

const $ = <T extends HTMLElement>(sel: string) => document.querySelector(sel) as T;
const form = $<HTMLFormElement>('#settings');
const runButton = $<HTMLButtonElement>('#run');
const cancelButton = $<HTMLButtonElement>('#cancel');
const progressRow = $<HTMLDivElement>('#progress-row');
const progress = $<HTMLProgressElement>('#progress');
const status = $<HTMLSpanElement>('#status');
const canvas = $<HTMLCanvasElement>('#plot');
const ortBase = document.body.dataset.ortBase ?? './ort/';
let report: BenchReport | undefined;
let controller: AbortController | undefined;

function log(message: string, level: 'info' | 'warn' | 'error' = 'info'): void {
  post({ type: 'log', level, message });
  status.textContent = message;
}

function checked(name: string): string[] {
  return [...form.querySelectorAll<HTMLInputElement>(`input[name="${name}"]:checked`)].map((i) => i.value);
}

function field(name: string): HTMLInputElement {
  return form.querySelector<HTMLInputElement>(`[name="${name}"]`)!;
}

function tileChoiceField(): HTMLSelectElement {
  return form.querySelector<HTMLSelectElement>('select[name="tileChoice"]')!;
}

/** The numbers in field `name`; a SettingsError names the field. */
function numbers(name: string, label: string): number[] {
  try {
    return parseNumberList(field(name).value, label);
  } catch (e) {
    throw e instanceof SettingsError ? new SettingsError(e.message, name) : e;
  }
}

function readSettings(): BenchSettings {
  const s: BenchSettings = {
    ...QUICK_SETTINGS,
    kernels: checked('kernel') as BenchSettings['kernels'],
    backends: checked('backend') as BenchSettings['backends'],
    precisions: checked('precision') as BenchSettings['precisions'],
    seqLens: numbers('seqLens', 'Sequence lengths'),
    heads: numbers('heads', 'Heads'),
    queriesPerKv: numbers('queriesPerKv', 'Query heads per K/V head'),
    batches: numbers('batches', 'Batch'),
    headDim: numbers('headDim', 'Head size')[0],
    causal: field('causal').checked,
    interleave: field('interleave').checked,
    budgetMs: numbers('budgetMs', 'Time budget')[0],
    tileChoice: parseTileChoice(tileChoiceField().value),
  };
  checkGrouping(s);
  return s;
}

function writeSettings(s: BenchSettings): void {
  for (const [name, values] of [['kernel', s.kernels], ['backend', s.backends], ['precision', s.precisions]] as const) {
    for (const box of form.querySelectorAll<HTMLInputElement>(`input[name="${name}"]`)) box.checked = (values as readonly string[]).includes(box.value);
  }
  field('seqLens').value = s.seqLens.join(',');
  field('heads').value = s.heads.join(',');
  field('queriesPerKv').value = s.queriesPerKv.join(',');
  field('batches').value = s.batches.join(',');
  field('headDim').value = String(s.headDim);
  field('causal').checked = s.causal;
  field('interleave').checked = s.interleave;
  field('budgetMs').value = String(s.budgetMs);
  tileChoiceField().value = s.tileChoice;
}

function renderAdapter(r: BenchReport): void {
  const dl = $<HTMLDListElement>('#adapter');
  const a = r.adapter;
  const facts: [string, string][] = a
    ? [
        ['Vendor / architecture', `${a.vendor} ${a.architecture}`],
        ['Description', a.description + (a.isFallbackAdapter ? ' (CPU fallback: correctness only, not speed)' : '')],
        ['Subgroups', a.subgroups ? `${a.subgroupMinSize ?? '?'}–${a.subgroupMaxSize ?? '?'}` : 'no'],
        ['shader-f16', a.shaderF16 ? 'yes' : 'no'],
        ['Timestamp queries', a.timestampQuery ? 'yes' : 'no (queue completion)'],
        ['Workgroup memory / invocations', `${a.maxWorkgroupStorage} B / ${a.maxInvocations}`],
      ]
    : [['WebGPU', 'not available']];
  facts.push(['Runtime', r.environment]);
  dl.replaceChildren(...facts.flatMap(([k, v]) => [Object.assign(document.createElement('dt'), { textContent: k }), Object.assign(document.createElement('dd'), { textContent: v })]));
}

function renderResults(r: BenchReport): void {
  const table = $<HTMLTableElement>('#results');
  const head = document.createElement('tr');
  for (const h of TABLE_HEADERS) head.append(Object.assign(document.createElement('th'), { textContent: h, scope: 'col' }));
  table.tHead!.replaceChildren(head);
  // At side-bar widths CSS lays each row out as a card labelled from data-label; explicit roles keep
  // the table a table for screen readers when its display is changed.
  table.setAttribute('role', 'table');
  head.setAttribute('role', 'row');
  for (const th of head.children) th.setAttribute('role', 'columnheader');
  table.tBodies[0].replaceChildren(
    ...r.rows.map((row) => {
      const tr = Object.assign(document.createElement('tr'), { className: `status-${row.status}` });
      tr.setAttribute('role', 'row');
      if (row.note) tr.title = row.note;
      rowCells(row).forEach((c, i) => {
        const td = Object.assign(document.createElement('td'), { textContent: c });
        td.setAttribute('role', 'cell');
        td.dataset.label = TABLE_HEADERS[i];
        tr.append(td);
      });
      return tr;
    }),
  );
  $<HTMLParagraphElement>('#ratios').textContent = speedups(r)
    .map((s) => `ours is ${s.ratio.toFixed(2)}× ${s.ratio >= 1 ? 'faster' : 'as fast'} than ort-fused at B${s.batch} ${headsLabel(s)} T${s.seqLen} ${s.precision}`)
    .join('; ');
  $<HTMLDivElement>('#tile-trials').replaceChildren(
    ...r.rows.filter((row) => row.tileTrials).map((row) => {
      const details = document.createElement('details');
      const summary = Object.assign(document.createElement('summary'), { textContent: `Tiles tried for ours B${row.batch} ${headsLabel(row)} T${row.seqLen} ${row.precision}` });
      details.append(summary, Object.assign(document.createElement('pre'), { textContent: trialsTable(row.tileTrials!) }));
      return details;
    }),
  );
  drawPlot(canvas, r.rows);
  for (const b of document.querySelectorAll<HTMLButtonElement>('[data-export]')) b.disabled = r.rows.length === 0;
}

async function run(settings: BenchSettings): Promise<BenchReport> {
  controller = new AbortController();
  runButton.disabled = true;
  cancelButton.disabled = false;
  progressRow.hidden = false;
  progress.value = 0;
  try {
    const env = await benchEnvironment(ortBase, (m) => log(m, 'warn'));
    const partial: BenchReport = { startedAt: new Date().toISOString(), settings, environment: env.description, rows: [] };
    report = await runBenchmark(settings, env, {
      signal: controller.signal,
      onProgress: (done, total, row, running) => {
        progress.max = total;
        progress.value = done;
        if (running) status.textContent = `${done + 1} of ${total}: ${running.kernel} ${running.backend} ${running.precision} B${running.batch} ${headsLabel(running)} T${running.seqLen}`;
        if (row) {
          partial.rows.push(row);
          renderResults(partial);
        }
      },
    });
    const ran = report.rows.filter((row) => row.status !== 'cancelled').length;
    status.textContent = controller.signal.aborted ? `Cancelled: ${ran} results kept, ${report.rows.length - ran} not run.` : `Done: ${report.rows.length} results.`;
    renderAdapter(report);
    renderResults(report);
    return report;
  } finally {
    runButton.disabled = false;
    cancelButton.disabled = true;
    controller = undefined;
  }
}

function startRun(settings: BenchSettings): void {
  run(settings).then(
    (r) => (window.benchReport = r),
    (e: unknown) => {
      window.benchError = e instanceof Error ? e.message : String(e);
      log(`Benchmark stopped: ${window.benchError}`, 'error');
    },
  );
}

form.addEventListener('submit', (e) => {
  e.preventDefault();
  for (const f of form.querySelectorAll('[aria-invalid]')) f.removeAttribute('aria-invalid');
  status.classList.remove('error');
  try {
    startRun(readSettings());
  } catch (err) {
    log((err as Error).message, 'error');
    // The field at fault is marked, described by the message and focused, so it is where the user types next.
    if (err instanceof SettingsError && err.field) {
      const f = field(err.field);
      f.setAttribute('aria-invalid', 'true');
      f.setAttribute('aria-errormessage', 'status');
      f.focus();
    }
    status.classList.add('error');
  }
});
form.addEventListener('input', (e) => (e.target as Element).removeAttribute('aria-invalid'));
cancelButton.addEventListener('click', () => controller?.abort());
$<HTMLButtonElement>('#full-grid').addEventListener('click', () => writeSettings(FULL_SETTINGS));
$<HTMLButtonElement>('#quick-grid').addEventListener('click', () => writeSettings(QUICK_SETTINGS));
for (const b of document.querySelectorAll<HTMLButtonElement>('[data-export]')) {
  b.addEventListener('click', () => {
    if (!report) return;
    const stamp = report.startedAt.replace(/[:.]/g, '-');
    const format = b.dataset.export as 'csv' | 'json' | 'png';
    const saved =
      format === 'png'
        ? save(`attention-benchmark-${stamp}.png`, 'image/png', canvas.toDataURL('image/png').split(',')[1], true)
        : save(`attention-benchmark-${stamp}.${format}`, format === 'csv' ? 'text/csv' : 'application/json', format === 'csv' ? toCsv(report) : toJson(report), false);
    void saved.then((outcome) => (status.textContent = outcome));
  });
}
window.addEventListener('resize', () => report && drawPlot(canvas, report.rows));

writeSettings(QUICK_SETTINGS);
// Standalone (CLI, tests): `?autorun=<settings JSON>` runs at once and leaves the report on window.
const auto = /[?&]autorun=([^&]*)/.exec(location.search);
if (!inVsCode && auto) {
  const settings = { ...QUICK_SETTINGS, ...(JSON.parse(decodeURIComponent(auto[1])) as Partial<BenchSettings>) };
  writeSettings(settings);
  startRun(settings);
}
announceReady();
