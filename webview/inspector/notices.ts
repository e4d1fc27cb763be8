/** The notes above the tokens: what of the selection was inspected, and where the model did not run as asked. */
import type { SelectionNotice } from '../../protocol/inspector.js';
import { el } from './dom.js';

export interface InspectionNotices {
  /** The host's notes on the selection. */
  selection: readonly SelectionNotice[];
  /** The runner's note when it cut the tokens to the model's context. */
  truncated?: string;
  /** Why WebGPU was not used, when the model fell back to wasm. */
  fallbackReason?: string;
}

export function noticeText(n: SelectionNotice): string {
  switch (n.kind) {
    case 'currentLine':
      return `Nothing was selected, so line ${n.line + 1} is inspected.`;
    case 'firstOfSeveral':
      return `${n.count} selections: only the first is inspected.`;
    case 'truncated': {
      const why = { context: "the model's context length", maxTokens: 'the attentionInspector.maxTokens setting', memoryBudget: 'the attentionInspector.memoryBudgetMB setting' }[n.limit];
      const chars = `the first ${count(n.inspectedChars)} of ${count(n.totalChars)} characters`;
      return n.tokens === undefined
        ? `Truncated: only the first ${count(n.keptTokens)} tokens are inspected (${why}): ${chars}; the rest was not tokenized.`
        : `Truncated: the text has ${count(n.tokens)} tokens; only the first ${count(n.keptTokens)} are inspected (${why}): ${chars}.`;
    }
  }
}

const count = (n: number) => n.toLocaleString('en-US');

export class NoticeList {
  readonly element = el('ul', { class: 'notices', role: 'note' });

  render(n: InspectionNotices): void {
    const items = n.selection.map(noticeText);
    if (n.truncated) items.push(n.truncated);
    if (n.fallbackReason) items.push(`WebGPU was not used (${n.fallbackReason}); the model ran on wasm.`);
    this.element.replaceChildren(...items.map((t) => el('li', {}, t)));
    this.element.hidden = items.length === 0;
  }
}
