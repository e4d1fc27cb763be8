/** The "Ablate heads" controls under the head grid and the token strip's Δloss (headAblation.ts has the arithmetic). */
import type { HeadAblationMode, HeadRef } from '../../kernels/graph/decoderGraph.js';
import { button, select } from '../components/controls.js';
import { el } from './dom.js';
import { deltaLegend, deltaScale, divergingRamp, signed, symmetricLimit, tokenLossDelta } from './deltaScale.js';
import { tokenChangeNote, type AblatedRun, type TopTokens } from './headAblation.js';
import type { TokenChanges } from './tokenStrip.js';

export interface AblationActions {
  run(mode: HeadAblationMode): void;
  clear(): void;
  exportJson(): void;
}

/** The controls under the head grid: which heads are marked, the mode, Run ablated, Clear ablation, the export. */
export class HeadAblationControls {
  private readonly marked = el('p', { class: 'ablate-marked' });
  private readonly summary = el('p', { class: 'ablate-summary', role: 'status' });
  private readonly mode = select('Ablation', () => undefined);
  private readonly runButton: HTMLElement;
  private readonly clearButton: HTMLElement;
  private readonly exportButton: HTMLElement;
  readonly element: HTMLElement;

  constructor(actions: AblationActions) {
    this.mode.setOptions([{ value: 'zero', label: 'zero' }, { value: 'mean', label: 'mean' }], 'zero');
    this.runButton = button({ label: 'Run ablated', title: 'Run the model again with the marked heads ablated', onClick: () => actions.run(this.mode.value === 'mean' ? 'mean' : 'zero') });
    this.clearButton = button({ label: 'Clear ablation', title: 'Unmark every head and show the clean inspection again', secondary: true, onClick: () => actions.clear() });
    this.exportButton = button({ label: 'Ablated JSON', title: 'Export the ablated run’s tokens (loss and top guesses, before and after) as JSON', secondary: true, onClick: () => actions.exportJson() });
    this.element = el(
      'div',
      { class: 'ablate' },
      el('h3', {}, 'Ablate heads'),
      this.marked,
      el('div', { class: 'controls ablate-controls' }, this.mode.element, this.runButton, this.clearButton, this.exportButton),
      this.summary,
    );
    this.show([], undefined);
  }

  setMode(mode: HeadAblationMode): void {
    this.mode.setValue(mode);
  }

  /** The marked heads and the run shown (undefined: the clean inspection). */
  show(marked: readonly HeadRef[], shown: { words: string; meanBefore: number; meanAfter: number; predicted: number } | undefined, busy = '', ready = true): void {
    this.marked.textContent = marked.length
      ? `Marked: ${marked.map((h) => `L${h.layer}H${h.head}`).join(', ')}`
      : 'Mark heads to ablate: Alt+click a cell, or Space on the focused cell (Enter still opens it).';
    this.toggle(this.runButton, marked.length > 0 && ready && !busy);
    this.toggle(this.clearButton, marked.length > 0 || !!shown);
    this.toggle(this.exportButton, !!shown);
    this.summary.textContent = busy || (shown ? `${shown.words}: mean loss ${shown.meanBefore.toFixed(3)} → ${shown.meanAfter.toFixed(3)} nats (Δ ${signed(shown.meanAfter - shown.meanBefore, 3)}) over ${shown.predicted} predicted tokens. Grid cells: Δattn, the mean total-variation distance of each head’s attention from the clean run.` : '');
  }

  private toggle(b: HTMLElement, enabled: boolean): void {
    if (enabled) b.removeAttribute('disabled');
    else b.setAttribute('disabled', '');
  }
}

/**
 * The ablated run's Δloss (ablated − clean) of predicting each token, for the token strip, on the shared
 * diverging scale (red: the loss rose, blue: it fell), with its legend built as the comparison's is.
 */
export function ablationTokenChanges(clean: { loss: Float32Array; top: TopTokens }, a: AblatedRun, tokenText: (id: number) => string): { changes: TokenChanges; legend: HTMLElement } {
  const values = tokenLossDelta(a.loss, clean.loss);
  const scale = deltaScale(symmetricLimit(values.map((v) => v ?? 0)), divergingRamp(document.body));
  return {
    changes: { values, scale, describe: (i) => tokenChangeNote(i, clean, a, tokenText) },
    legend: deltaLegend(scale, 'Δloss (nats)', 'loss fell', 'loss rose'),
  };
}
