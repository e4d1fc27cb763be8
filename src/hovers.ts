/**
 * Editor hovers over inspected tokens. The last inspection of each document is remembered (its tokens,
 * where they sit, and the compact summary the panel posts back); an edit inside the inspected range
 * makes its hovers say "out of date", an edit before it shifts the range.
 */
import * as vscode from 'vscode';
import { hoverMarkdown, OUT_OF_DATE_MARKDOWN } from './hoverText.js';
import { tokenIndexAt } from './inspectSelection.js';
import type { HoverSummary, TokenInfo } from '../protocol/inspector.js';

interface Inspection {
  requestId: number;
  baseOffset: number;
  /** End of the inspected text (document offset). */
  endOffset: number;
  tokens: TokenInfo[];
  modelLabel: string;
  summary?: HoverSummary;
  stale: boolean;
}

export class InspectionHovers implements vscode.HoverProvider, vscode.Disposable {
  private readonly byDocument = new Map<string, Inspection>();
  private readonly disposables: vscode.Disposable[];

  constructor() {
    this.disposables = [
      vscode.languages.registerHoverProvider('*', this),
      vscode.workspace.onDidChangeTextDocument((e) => this.onEdit(e)),
      vscode.workspace.onDidCloseTextDocument((d) => this.byDocument.delete(d.uri.toString())),
    ];
  }

  record(document: vscode.TextDocument, requestId: number, baseOffset: number, endOffset: number, tokens: TokenInfo[], modelLabel: string): void {
    this.byDocument.set(document.uri.toString(), { requestId, baseOffset, endOffset, tokens, modelLabel, stale: false });
  }

  setSummary(requestId: number, summary: HoverSummary): void {
    for (const ins of this.byDocument.values()) if (ins.requestId === requestId) ins.summary = summary;
  }

  private onEdit(e: vscode.TextDocumentChangeEvent): void {
    const ins = this.byDocument.get(e.document.uri.toString());
    if (!ins || ins.stale) return;
    for (const c of e.contentChanges) {
      const start = c.rangeOffset;
      const end = c.rangeOffset + c.rangeLength;
      if (end < ins.baseOffset) {
        const delta = c.text.length - c.rangeLength;
        ins.baseOffset += delta;
        ins.endOffset += delta;
      } else if (start <= ins.endOffset) {
        ins.stale = true;
        return;
      }
    }
  }

  provideHover(document: vscode.TextDocument, position: vscode.Position): vscode.Hover | undefined {
    if (!vscode.workspace.getConfiguration('attentionInspector').get<boolean>('hovers.enabled', true)) return undefined;
    const ins = this.byDocument.get(document.uri.toString());
    if (!ins) return undefined;
    const offset = document.offsetAt(position);
    if (offset < ins.baseOffset || offset >= ins.endOffset) return undefined;
    if (ins.stale) return new vscode.Hover(new vscode.MarkdownString(OUT_OF_DATE_MARKDOWN));
    // A token without a range (a BOS the tokenizer added, a prepended "▁") holds no offset, so it is never found: no hover on nothing.
    const index = tokenIndexAt(ins.tokens, offset - ins.baseOffset);
    if (index < 0) return undefined;
    const t = ins.tokens[index]!;
    const range = new vscode.Range(document.positionAt(ins.baseOffset + t.start), document.positionAt(ins.baseOffset + t.end));
    const s = ins.summary;
    const md = hoverMarkdown({ tokens: ins.tokens, index, layer: s?.layer ?? 0, head: s?.head ?? 0, summary: s?.tokens[index], modelLabel: ins.modelLabel, ablation: s?.ablation });
    return new vscode.Hover(new vscode.MarkdownString(md), range);
  }

  dispose(): void {
    for (const d of this.disposables.splice(0)) d.dispose();
    this.byDocument.clear();
  }
}
