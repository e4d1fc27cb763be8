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
}

export class PredictionsView {
  private readonly body = el('div', { class: 'predictions' });
  readonly element = section('Loss and predictions', 'predictions', this.body);

  render(c: PredictionsContent): void {
    const tokenText = (id: number) => showWhitespace(c.tokenText(id));
    const finite = [...c.loss].filter(Number.isFinite);
    const meanLoss = finite.reduce((a, b) => a + b, 0) / Math.max(1, finite.length);
    const maxLoss = Math.max(1e-9, ...finite);
    const rows = c.tokens.map((t, i) => {
      const loss = i > 0 ? c.loss[i - 1]! : NaN;
      const top = c.top[i]!;
      return el(
        'tr',
        {},
        el('td', { class: 'num' }, String(i)),
        el('td', { class: 'tok' }, showWhitespace(t.text)),
        el('td', { class: 'num loss' }, Number.isFinite(loss) ? loss.toFixed(2) : '—', bar(Number.isFinite(loss) ? loss / maxLoss : 0)),
        el('td', { class: 'preds' }, top.ids.slice(0, c.topK).map((id, k) => `${tokenText(id)} ${top.probs[k]!.toFixed(2)}`).join('   ')),
      );
    });
    this.body.replaceChildren(
      el('p', {}, `Mean loss ${meanLoss.toFixed(3)} nats over ${finite.length} predicted tokens (perplexity ${Math.exp(meanLoss).toFixed(1)}). Loss of token i: −ln p(token i | tokens before it).`),
      el('div', { class: 'table-wrap' }, el('table', { class: 'pred-table' }, headerRow(['#', 'token', 'loss', `top ${c.topK} next tokens`]), el('tbody', {}, ...rows))),
    );
  }
}
