/** The editor hover of an inspected token, as Markdown: pure, so its wording is unit-tested. */
import type { HoverTokenSummary, TokenInfo } from '../protocol/inspector.js';

/** A token's text with whitespace made visible and Markdown neutralised, in a code span. */
export function visibleToken(text: string): string {
  const shown = text.replace(/ /g, '·').replace(/\t/g, '→').replace(/\r/g, '␍').replace(/\n/g, '↵');
  return '`' + shown.replace(/`/g, 'ˋ') + '`';
}

export interface HoverContext {
  tokens: readonly TokenInfo[];
  index: number;
  layer: number;
  /** -1: average over heads. */
  head: number;
  summary?: HoverTokenSummary;
  modelLabel: string;
}

export function headName(layer: number, head: number): string {
  return head < 0 ? `L${layer} avg` : `L${layer}H${head}`;
}

export function hoverMarkdown(c: HoverContext): string {
  const t = c.tokens[c.index]!;
  const lines = [
    `**Attention Inspector** — token ${visibleToken(t.text)} id ${t.id}, position ${c.index} of ${c.tokens.length} (line ${t.line + 1}, col ${t.character + 1})`,
  ];
  const s = c.summary;
  if (!s) {
    lines.push('', '_Attention is still being computed…_');
    return lines.join('\n');
  }
  if (s.loss !== undefined) lines.push('', `Loss ${s.loss.toFixed(2)} nats (p = ${Math.exp(-s.loss).toFixed(3)}) under ${c.modelLabel}`);
  if (s.attends.length) {
    const list = s.attends.map((a) => `${visibleToken(c.tokens[a.index]?.text ?? '?')} #${a.index} ${a.weight.toFixed(3)}`).join(', ');
    lines.push('', `Attends most to (${headName(c.layer, c.head)}): ${list}`);
  }
  if (s.heads.length) {
    const list = s.heads.map((h) => `${headName(h.layer, h.head)} → ${visibleToken(c.tokens[h.index]?.text ?? '?')} ${h.weight.toFixed(2)}`).join(', ');
    lines.push('', `Strongest heads: ${list}`);
  }
  if (s.predictions.length) lines.push('', `Next-token guesses: ${s.predictions.map((p) => `${visibleToken(p.text)} ${p.p.toFixed(2)}`).join(', ')}`);
  return lines.join('\n');
}

export const OUT_OF_DATE_MARKDOWN = '**Attention Inspector** — the inspection is out of date: the text changed since it ran. Run **Inspect Attention** again.';
