/** Tokens as the panel writes them: whitespace made visible, and "“text” #i" labels. */
import type { TokenInfo } from '../../protocol/inspector.js';

/** Whitespace made visible in token labels. */
export function showWhitespace(s: string): string {
  return s.replace(/ /g, '·').replace(/\t/g, '→').replace(/\r\n/g, '↵').replace(/\n/g, '↵').replace(/\r/g, '↵') || '∅';
}

/** Token `i` of `tokens` for readouts: its visible text and index, or the index alone. */
export function tokenLabel(tokens: readonly TokenInfo[], i: number): string {
  const t = tokens[i];
  return t ? `“${showWhitespace(t.text)}” #${i}` : `#${i}`;
}
