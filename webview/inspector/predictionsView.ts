/** The "Loss and predictions" card: each token's loss as a number and a bar, and the model's top next tokens. */
import type { TokenInfo } from '../../protocol/inspector.js';
import { bar, el, headerRow, section } from './dom.js';
import { showWhitespace } from './tokenText.js';

export interface PredictionsContent {
  /** The inspected tokens. */
  tokens: readonly TokenInfo[];
  /** loss[t] = −ln p(token t+1 | ≤ t). */
  loss: Float32Array;
  /** Per token, the most likely next tokens, most likely first. */
  top: readonly { ids: number[]; probs: number[] }[];
  tokenText: (id: number) => string;
  topK: number;
  /** A run with heads ablated, shown after the clean one: loss and top guess before → after. */
  ablated?: { words: string; loss: Float32Array; top: readonly { ids: number[]; probs: number[] }[] };
}

export class PredictionsView {
  private readonly body = el('div', { class: 'predictions' });
  readonly element = section('Loss and predictions', 'predictions', this.body);

  render(c: PredictionsContent): void {
    const tokenText = (id: number) => showWhitespace(c.tokenText(id));
    const finite = [...c.loss].filter(Number.isFinite);
    const meanLoss = finite.reduce((a, b) => a + b, 0) / Math.max(1, finite.length);
    const maxLoss = Math.max(1e-9, ...finite);
    const a = c.ablated;
    const guesses = (top: { ids: number[]; probs: number[] }) => top.ids.slice(0, c.topK).map((id, k) => `${tokenText(id)} ${top.probs[k]!.toFixed(2)}`).join('   ');
    const rows = c.tokens.map((t, i) => {
      const loss = i > 0 ? c.loss[i - 1]! : NaN;
      const top = c.top[i]!;
      const after = a && i > 0 ? a.loss[i - 1]! : NaN;
      return el(
        'tr',
        {},
        el('td', { class: 'num' }, String(i)),
        el('td', { class: 'tok' }, showWhitespace(t.text)),
        el('td', { class: 'num loss' }, Number.isFinite(loss) ? loss.toFixed(2) : '—', bar(Number.isFinite(loss) ? loss / maxLoss : 0)),
        ...(a ? [el('td', { class: 'num loss' }, Number.isFinite(after) ? `${after.toFixed(2)} (${after >= loss ? '+' : '−'}${Math.abs(after - loss).toFixed(2)})` : '—')] : []),
        el('td', { class: 'preds' }, guesses(top)),
        ...(a ? [el('td', { class: 'preds' }, guesses(a.top[i]!))] : []),
      );
    });
    const afterMean = a ? [...a.loss].filter(Number.isFinite).reduce((x, y) => x + y, 0) / Math.max(1, finite.length) : NaN;
    const header = a ? ['#', 'token', 'loss', `loss, ${a.words} (Δ)`, `top ${c.topK} next tokens`, `after the ablation`] : ['#', 'token', 'loss', `top ${c.topK} next tokens`];
    this.body.replaceChildren(
      el('p', {}, `Mean loss ${meanLoss.toFixed(3)} nats over ${finite.length} predicted tokens (perplexity ${Math.exp(meanLoss).toFixed(1)}). Loss of token i: −ln p(token i | tokens before it).`),
      ...(a ? [el('p', { class: 'ablated-mean' }, `With ${a.words}: mean loss ${meanLoss.toFixed(3)} → ${afterMean.toFixed(3)} nats (perplexity ${Math.exp(meanLoss).toFixed(1)} → ${Math.exp(afterMean).toFixed(1)}).`)] : []),
      el('div', { class: 'table-wrap' }, el('table', { class: 'pred-table' }, headerRow(header), el('tbody', {}, ...rows))),
    );
  }
}
