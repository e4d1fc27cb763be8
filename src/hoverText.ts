/** The editor hover of an inspected token, as Markdown: pure, so its wording is unit-tested. */
import type { HoverAblation, HoverTokenSummary, TokenInfo } from '../protocol/inspector.js';

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
  /** The heads the panel ran ablated, when its summary says so. */
  ablation?: HoverAblation;
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
  if (s.ablated && c.ablation) lines.push('', ...ablationLines(s, s.ablated, c.ablation));
  return lines.join('\n');
}

/** Loss and top guess before → after the panel's head ablation. */
function ablationLines(s: HoverTokenSummary, a: NonNullable<HoverTokenSummary['ablated']>, ablation: HoverAblation): string[] {
  const lines = [`With heads ${ablation.heads.join(', ')} ${ablation.mode}-ablated:`];
  if (s.loss !== undefined && a.loss !== undefined) {
    const d = a.loss - s.loss;
    lines.push(`- loss ${s.loss.toFixed(2)} → ${a.loss.toFixed(2)} nats (Δ ${d >= 0 ? '+' : '−'}${Math.abs(d).toFixed(2)})`);
  }
  const top = (p: { text: string; p: number } | undefined) => (p ? `${visibleToken(p.text)} ${p.p.toFixed(2)}` : '—');
  lines.push(`- top guess ${top(s.predictions[0])} → ${top(a.predictions[0])}`);
  return lines;
}

export const OUT_OF_DATE_MARKDOWN = '**Attention Inspector** — the inspection is out of date: the text changed since it ran. Run **Inspect Attention** again.';
